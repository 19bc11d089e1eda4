/**
 * Where chat replies come from. The built-in responder needs no network, so the sample API works
 * on a fresh machine; an OpenAI-compatible one (openai.ts) stands in behind the same interface.
 */

import type { ChatRole } from '../store/types.js';

/** One earlier turn of the conversation, oldest first. */
export interface ChatTurn {
  readonly role: ChatRole;
  readonly content: string;
}

export interface ChatContext {
  readonly userName: string | null;
  readonly userEmail: string;
  /** How many messages this user had sent before this one. */
  readonly previousMessages: number;
  /** The most recent turns before this message, oldest first (may be empty). */
  readonly history: readonly ChatTurn[];
}

export interface Responder {
  /** A short word for logs (`echo`, `openai`); never a URL or a key. */
  readonly name: string;
  /**
   * Yields the reply in pieces; their concatenation is the reply. Throws GatehouseError
   * (`upstream_error`) when an upstream fails; stops when `signal` aborts.
   */
  stream(message: string, context: ChatContext, signal: AbortSignal): AsyncIterable<string>;
}

/** Collects a streamed reply into one string. */
export async function replyText(
  responder: Responder,
  message: string,
  context: ChatContext,
  signal: AbortSignal,
): Promise<string> {
  let text = '';
  for await (const piece of responder.stream(message, context, signal)) text += piece;
  return text;
}

/** Answers by echoing, with the user's name and a count: deterministic, instant, offline. */
export class EchoResponder implements Responder {
  readonly name = 'echo';

  async *stream(message: string, context: ChatContext, signal: AbortSignal): AsyncIterable<string> {
    const who = context.userName?.trim() || context.userEmail;
    const n = context.previousMessages + 1;
    const text = `Hello ${who}! You said: "${message}" (message #${n}).`;
    // A few word-aligned pieces, so the page's streaming path is exercised without a model.
    for (const piece of splitInto(text, 4)) {
      signal.throwIfAborted();
      yield piece;
    }
  }
}

/** Splits text at spaces into at most `parts` pieces whose concatenation is the text. */
export function splitInto(text: string, parts: number): string[] {
  const size = Math.ceil(text.length / parts);
  const pieces: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + size);
    const space = text.indexOf(' ', end);
    end = space === -1 || space - end > 20 ? end : space + 1;
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}
