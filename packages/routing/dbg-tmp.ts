import { rulesStrategy } from './src/rules.ts';
import { loadEvalSet, evalMessages } from './src/evaluation.ts';
const r = rulesStrategy();
const ids = process.argv.slice(2);
for (const item of loadEvalSet()) {
  const d = r.decide({ request: { model: 'auto', messages: evalMessages(item) } });
  const wrongTier = d.tier !== item.tier, wrongCat = d.category !== item.category;
  if (ids.includes('tier') ? wrongTier : ids.includes('cat') ? wrongCat : ids.includes(item.id)) {
    console.log(`${item.id} exp ${item.tier}/${item.category} got ${d.tier}/${d.category} ${d.confidence} | ${(item.prompt ?? JSON.stringify(item.messages)).slice(0, 110).replace(/\n/g, ' ')}\n    ${d.reasons.join(' ; ')}`);
  }
}
