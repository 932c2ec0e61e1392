import {
  countChatTokens,
  countTokens,
  messageText,
  rememberTokenCount,
  tokenCountOf,
  type TokenCount,
} from '@sluice/llm';
import type { ChatRequest } from '@sluice/queues';

/**
 * What the rules look at, computed once per request. Markers are read from the latest user
 * message (what is being asked now); length and depth from the whole conversation.
 */
export interface PromptFeatures {
  /** Text of the latest user message (or the last message when there is none); of a very long one, its first and last 20 000 characters. */
  text: string;
  /** Tokens in {@link PromptFeatures.text}, counted with the model family's tokenizer. */
  textTokens: number;
  /** Prompt tokens of the whole request as billed. */
  totalTokens: number;
  /** User turns in the conversation (conversation depth). */
  userTurns: number;
  /** Lines of fenced code in the latest message. */
  fencedCodeLines: number;
  /** Lines outside fences that look like source code. */
  codeLikeLines: number;
  /** The latest message carries a stack trace or compiler/runtime error output. */
  stackTrace: boolean;
  /** Items of an enumerated list (numbered or bulleted) in the latest message. */
  listItems: number;
  /** Question marks in the latest message. */
  questions: number;
  /**
   * The instruction part of the latest message: quoted spans and fenced code removed, and of a
   * multi-paragraph message only the first and last paragraphs (not the last either when the
   * first ends with a colon and the last is long: that is the material). Intent markers ("today",
   * "summarize") are read here, so the text being worked on (an email that says "yesterday")
   * does not change what is being asked.
   */
  ask: string;
  /** Tokens in {@link PromptFeatures.ask}. */
  askTokens: number;
  /** Numbers in the instruction (quantities of a word problem). */
  numbers: number;
  /** Distinct deliverable verbs in the instruction ("explain … and propose …" is two). */
  deliverables: string[];
  /** Text of up to three earlier user turns (context for the category). */
  earlierUserText: string;
}

// Verbs that each ask for a separate piece of work. Two or more in one request is a spec,
// not a question.
const DELIVERABLE =
  /\b(explain|describe|compare|evaluate|assess|analy[sz]e|find|show|prove|derive|design|implement|propose|recommend|justify|estimate|diagnose|review|plan|identify|discuss|argue|calculate|compute|determine|outline|refactor|optimi[sz]e|summari[sz]e|list|rewrite|sequence|state|rank|test|weigh|critique|walk through)\b/gi;

/** The instruction part of a message (see {@link PromptFeatures.ask}). */
export function instructionText(text: string): string {
  const ask = text.replace(/(```|~~~)[\s\S]*?(\1|$)/g, ' ').replace(/"[^"\n]{1,2000}"|“[^”]{1,2000}”/g, '""');
  const paragraphs = ask.split(/\n\s*\n/).filter((p) => p.trim());
  if (paragraphs.length < 2) return ask;
  // "Summarize this:" followed by the material: the material is not the instruction. A short
  // closing paragraph ("Why does it crash?") usually is.
  const first = paragraphs[0]!;
  const last = paragraphs[paragraphs.length - 1]!;
  const keepLast = last.length < 400 || !/:\s*$/.test(first);
  return keepLast ? `${first}\n\n${last}` : first;
}

/** Text of the message the rules read: the last user message, else the last message. */
export function latestUserText(request: Pick<ChatRequest, 'messages'>): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const m = request.messages[i]!;
    if (m.role === 'user') return messageText(m.content);
  }
  const last = request.messages[request.messages.length - 1];
  return last ? messageText(last.content) : '';
}

const CODE_LINE =
  /(^\s*(def |class |import |from \S+ import|#include|public |private |func |fn |let |const |var |function |return |if \(|for \(|while \(|SELECT |INSERT |UPDATE |CREATE |@\w+\(|\}|\{))|([;{]\s*$)|(=>)|(\)\s*:\s*$)/;
const STACK_TRACE =
  /Traceback \(most recent call last\)|^[ \t]+at [\w$.<>]+ ?\(?[^)\n]*:\d+(:\d+)?\)?$|Exception in thread|panicked at|Segmentation fault|core dumped|^\s*File "[^"]+", line \d+|\b(TypeError|ValueError|KeyError|IndexError|AttributeError|NullPointerException|ReferenceError|SyntaxError|RuntimeError|ImportError|ModuleNotFoundError|IllegalArgumentException|NoMethodError|ClassCastException|ConcurrentModificationException|StackOverflowError|OutOfMemoryError|EADDRINUSE|ECONNREFUSED)\b:?|error\[E\d{4}\]|error TS\d{4}|undefined reference to|cannot find symbol/m;

const MARKER_WINDOW = 20_000;

/** The model whose tokenizer the features count with: the request's, `gpt-4o` for `auto`. */
const featureModel = (request: Pick<ChatRequest, 'model'>) =>
  request.model && request.model !== 'auto' ? request.model : 'gpt-4o';

/**
 * Tokens of {@link latestUserText}, as the features count them: carried with a job
 * (`promptTextTokens`), so the next process remembers the count instead of making it again
 * ({@link rememberPromptTextTokens}).
 */
export function promptTextTokens(request: Pick<ChatRequest, 'messages' | 'model'>): TokenCount {
  return tokenCountOf(latestUserText(request), featureModel(request));
}

/** Remember a count {@link promptTextTokens} made of this request in another process. */
export function rememberPromptTextTokens(request: Pick<ChatRequest, 'messages'>, carried: unknown): void {
  if (carried) rememberTokenCount(latestUserText(request), carried);
}

/** Compute the features of a request. `model` picks the tokenizer family. */
export function extractFeatures(request: Pick<ChatRequest, 'messages' | 'model'>): PromptFeatures {
  const fullText = latestUserText(request);
  const model = featureModel(request);
  const textTokens = countTokens(fullText, model);
  // Markers are read from at most the first and last 20 000 characters: what is asked sits
  // there, and it bounds the regex work on a 200 kB paste.
  const text =
    fullText.length > 2 * MARKER_WINDOW
      ? `${fullText.slice(0, MARKER_WINDOW)}\n\n${fullText.slice(-MARKER_WINDOW)}`
      : fullText;
  let fencedCodeLines = 0;
  let codeLikeLines = 0;
  let inFence = false;
  let listItems = 0;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence) {
      fencedCodeLines++;
      continue;
    }
    if (CODE_LINE.test(line)) codeLikeLines++;
    if (/^\s*(\d+[.)]|[-*•]|[a-z][.)])\s+\S/.test(line)) listItems++;
  }
  const ask = instructionText(text);
  const earlier: string[] = [];
  let seenLatest = false;
  for (let i = request.messages.length - 1; i >= 0 && earlier.length < 3; i--) {
    const m = request.messages[i]!;
    if (m.role !== 'user') continue;
    if (!seenLatest) {
      seenLatest = true;
      continue;
    }
    earlier.push(messageText(m.content));
  }
  return {
    text,
    ask,
    askTokens: ask === fullText ? textTokens : countTokens(ask, model),
    numbers: (ask.match(/(?<![\w.])\d+(?:[.,]\d+)*(?![\w])|\d+(?=%|k\b)/g) ?? []).length,
    deliverables: [...new Set((ask.match(DELIVERABLE) ?? []).map((v) => v.toLowerCase()))],
    earlierUserText: earlier.join('\n'),
    textTokens,
    totalTokens: countChatTokens(request.messages, model),
    userTurns: request.messages.filter((m) => m.role === 'user').length,
    fencedCodeLines,
    codeLikeLines,
    stackTrace: STACK_TRACE.test(text),
    listItems,
    questions: (text.match(/\?/g) ?? []).length,
  };
}
