import { countChatTokens, countTokens, messageText } from '@sluice/llm';
import type { ChatRequest } from '@sluice/queues';

/**
 * What the rules look at, computed once per request. Markers are read from the latest user
 * message (what is being asked now); length and depth from the whole conversation.
 */
export interface PromptFeatures {
  /** Text of the latest user message (or the last message when there is none). */
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

const CODE_LINE = /(^\s*(def |class |import |from \S+ import|#include|public |private |func |fn |let |const |var |function |return |if \(|for \(|while \(|SELECT |INSERT |UPDATE |CREATE |@\w+\(|\}|\{))|([;{]\s*$)|(=>)|(\)\s*:\s*$)/;
const STACK_TRACE = /Traceback \(most recent call last\)|^\s+at [\w$.<>]+ ?\(?[^)]*:\d+(:\d+)?\)?$|Exception in thread|panicked at|Segmentation fault|core dumped|^\s*File "[^"]+", line \d+|\b(TypeError|ValueError|KeyError|IndexError|AttributeError|NullPointerException|ReferenceError|SyntaxError|RuntimeError|ImportError|ModuleNotFoundError|IllegalArgumentException|NoMethodError|ClassCastException|ConcurrentModificationException|StackOverflowError|OutOfMemoryError|EADDRINUSE|ECONNREFUSED)\b:?|error\[E\d{4}\]|error TS\d{4}|undefined reference to|cannot find symbol/m;

/** Compute the features of a request. `model` picks the tokenizer family. */
export function extractFeatures(request: Pick<ChatRequest, 'messages' | 'model'>): PromptFeatures {
  const text = latestUserText(request);
  const model = request.model && request.model !== 'auto' ? request.model : 'gpt-4o';
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
  return {
    text,
    textTokens: countTokens(text, model),
    totalTokens: countChatTokens(request.messages, model),
    userTurns: request.messages.filter((m) => m.role === 'user').length,
    fencedCodeLines,
    codeLikeLines,
    stackTrace: STACK_TRACE.test(text),
    listItems,
    questions: (text.match(/\?/g) ?? []).length,
  };
}
