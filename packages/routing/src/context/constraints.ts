import { createHash } from 'node:crypto';
import { messageText } from '@sluice/llm';
import type { ChatMessage } from '@sluice/queues';

/** Kinds of hard constraint kept apart from the summary. */
export type ConstraintKind = 'allergy' | 'diet' | 'language' | 'budget' | 'name' | 'rule';

/** One hard constraint a user stated, with the sentence that stated it. */
export interface Constraint {
  /** Buffer key: one constraint per key, a later statement replaces an earlier one (`budget`, `allergy:peanuts`, `rule:1a2b3c4d`). */
  key: string;
  kind: ConstraintKind;
  /** The constrained value as read (`peanuts`, `Spanish`, `$2,000`, `Priya`). */
  value: string;
  /** The user's sentence, verbatim. This is what is sent upstream. */
  text: string;
  /** Absolute index of the message it came from. */
  message: number;
}

/** The key-value buffer of constraints of a conversation. */
export type ConstraintBuffer = Record<string, Constraint>;

/** A constraint found in a message, or a retraction of one ("I'm no longer vegetarian"). */
export interface ConstraintFinding extends Constraint {
  retract: boolean;
}

/** Options for {@link extractConstraints}. */
export interface ExtractConstraintsOptions {
  /** Absolute index of `messages[0]` (a stored conversation may have trimmed its head). @defaultValue 0 */
  offset?: number;
}

const MONEY = /[$€£¥]\s?\d[\d,.]*\s?(?:k|m)?\b|\b\d[\d,.]*\s?(?:k\s)?(?:dollars|euros|pounds|usd|eur|gbp|bucks)\b/i;
const LANGUAGES =
  'english|spanish|french|german|italian|portuguese|dutch|swedish|norwegian|danish|finnish|polish|czech|russian|ukrainian|greek|turkish|arabic|hebrew|hindi|bengali|urdu|chinese|mandarin|cantonese|japanese|korean|vietnamese|thai|indonesian|malay|swahili|tagalog';
const RETRACTION =
  /\bno longer\b|\bnot\b.*\bany ?more\b|\bactually,? (?:i'?m|i am) not\b|\bforget (?:what i said|that)\b|\bignore (?:my|the) (?:earlier|previous)\b/i;

/** Each pattern reads one kind of constraint from a sentence; the first capture group is its value. */
const PATTERNS: { kind: ConstraintKind; pattern: RegExp; key: (value: string) => string }[] = [
  {
    kind: 'allergy',
    pattern: /\b(?:allergic|allergy|allergies|intolerant|intolerance|sensitivity) (?:to|:)\s*([^.;!?\n]{2,80})/i,
    key: (v) => `allergy:${norm(v)}`,
  },
  { kind: 'allergy', pattern: /\b(celiac|coeliac|anaphyla\w*)\b/i, key: () => 'allergy:gluten (celiac)' },
  {
    kind: 'diet',
    pattern:
      /\b(?:i am|i'm|we are|we're|i have been|i've been) (?:a |strictly |strict )?(vegan|vegetarian|pescatarian|kosher|halal|gluten-free|lactose intolerant|diabetic|keto)\b/i,
    key: (v) => `diet:${norm(v)}`,
  },
  {
    kind: 'diet',
    pattern: /\bi (?:can(?:no|')t|cannot|do not|don'?t|never) (?:eat|drink|have) ([^.;!?\n,]{2,60})/i,
    key: (v) => `diet:no ${norm(v)}`,
  },
  {
    kind: 'language',
    pattern: new RegExp(
      `\\b(?:reply|respond|answer|write|talk|speak|communicate)(?: to me)?(?: only)? in (${LANGUAGES})\\b|\\bmy (?:native |first |preferred )?language is (${LANGUAGES})\\b|\\bi (?:only )?(?:speak|understand) (${LANGUAGES})\\b`,
      'i',
    ),
    key: () => 'language',
  },
  {
    kind: 'budget',
    pattern: new RegExp(`\\b(?:budget|spend|afford|pay)\\b[^.;!?\\n]{0,60}?(${MONEY.source})`, 'i'),
    key: () => 'budget',
  },
  { kind: 'name', pattern: /\b[Mm]y name is ([A-Z][\w'-]+)|\b[Cc]all me ([A-Z][\w'-]+)/, key: () => 'name:user' },
  {
    kind: 'name',
    pattern: /\b[Mm]y (\w+)(?:'s name is| is (?:called|named)) ([A-Z][\w'-]+)/,
    key: (v) => `name:${v.split(' ')[0]!.toLowerCase()}`,
  },
  {
    kind: 'rule',
    pattern:
      /\b(always|never|must(?:n'?t| not)?|do not ever|don'?t ever|make sure (?:you|to)|under no circumstances|only (?:use|reply|answer|write|respond|recommend|suggest)|avoid|do not use|don'?t use|do not (?:mention|suggest|include|recommend))\b/i,
    key: () => '',
  },
];

function norm(value: string): string {
  return value.trim().toLowerCase().replace(/\s+/g, ' ').slice(0, 60);
}

/** Sentences of a text, each verbatim (trailing punctuation kept). */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Read hard constraints from the user's (and system/developer) messages: allergies and
 * intolerances, diets, the language to answer in, budgets, names, and must/never rules.
 * Each finding carries its sentence verbatim. Assistant messages are not read: a constraint
 * is what the user said, not what the model repeated.
 */
export function extractConstraints(
  messages: readonly ChatMessage[],
  options: ExtractConstraintsOptions = {},
): ConstraintFinding[] {
  const offset = options.offset ?? 0;
  const found: ConstraintFinding[] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'user' && m.role !== 'system' && m.role !== 'developer') return;
    for (const sentence of sentences(messageText(m.content))) {
      if (sentence.length > 400) continue; // a pasted document, not a statement
      const retract = RETRACTION.test(sentence);
      // "I'm no longer vegetarian" is read as "I'm vegetarian", retracted.
      const read = retract ? sentence.replace(RETRACTION, ' ').replace(/\s+/g, ' ') : sentence;
      const add = (finding: Omit<ConstraintFinding, 'message' | 'text'>) => {
        if (!found.some((f) => f.key === finding.key && f.message === offset + i))
          found.push({ ...finding, text: sentence, message: offset + i });
      };
      for (const { kind, pattern, key } of PATTERNS) {
        const match = pattern.exec(read);
        if (!match) continue;
        if (kind === 'rule') {
          // A question ("should I always…?") states no rule, a retraction is not one, and a
          // system prompt's rules are sent verbatim anyway.
          if (/\?\s*$/.test(sentence) || retract || m.role !== 'user') continue;
          add({
            key: `rule:${createHash('sha1').update(norm(sentence)).digest('hex').slice(0, 8)}`,
            kind,
            value: match[1]!.toLowerCase(),
            retract: false,
          });
          continue;
        }
        const groups = match.slice(1).filter((g): g is string => typeof g === 'string');
        const value = kind === 'name' && groups.length === 2 ? `${groups[0]} ${groups[1]}` : (groups[0] ?? match[0]);
        const shown = kind === 'name' && groups.length === 2 ? groups[1]! : value.trim();
        add({ key: key(value), kind, value: shown, retract });
      }
    }
  });
  return found;
}

/** Most constraints a buffer keeps; past it, the oldest rules go first (facts are never dropped). */
export const MAX_CONSTRAINTS = 40;

/**
 * Merge findings into a buffer: a later statement replaces an earlier one with the same key
 * (a new budget), a retraction removes it. Past {@link MAX_CONSTRAINTS}, the oldest `rule`
 * entries are dropped; allergies, diets, language, budget and names never are.
 */
export function mergeConstraints(buffer: ConstraintBuffer, findings: readonly ConstraintFinding[]): ConstraintBuffer {
  const next: ConstraintBuffer = { ...buffer };
  for (const f of [...findings].sort((a, b) => a.message - b.message)) {
    const existing = next[f.key];
    if (existing && existing.message > f.message) continue; // already have a newer statement
    if (f.retract) {
      delete next[f.key];
      continue;
    }
    const { retract: _retract, ...constraint } = f;
    next[f.key] = constraint;
  }
  const rules = Object.values(next)
    .filter((c) => c.kind === 'rule')
    .sort((a, b) => a.message - b.message);
  let over = Object.keys(next).length - MAX_CONSTRAINTS;
  for (const r of rules) {
    if (over <= 0) break;
    delete next[r.key];
    over--;
  }
  return next;
}

/**
 * The system message that carries the buffer upstream, each constraint as the user's own
 * sentence, verbatim. Undefined when the buffer is empty.
 */
export function constraintsMessage(buffer: ConstraintBuffer): ChatMessage | undefined {
  const entries = Object.values(buffer).sort((a, b) => a.message - b.message);
  if (!entries.length) return undefined;
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const c of entries) {
    if (seen.has(c.text)) continue; // one sentence can hold two constraints
    seen.add(c.text);
    lines.push(`- [${c.kind}] ${c.text}`);
  }
  return {
    role: 'system',
    content: `Hard constraints the user stated earlier in this conversation, in their own words. They always apply, whatever the summary or later messages leave out:\n${lines.join('\n')}`,
  };
}
