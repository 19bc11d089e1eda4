/**
 * Where chat replies come from. The built-in responder needs no network, so the sample API works
 * on a fresh machine; an OpenAI-compatible one can stand in behind the same interface.
 */

export interface ChatContext {
  readonly userName: string | null;
  readonly userEmail: string;
  /** How many messages this user had sent before this one. */
  readonly previousMessages: number;
}

export interface Responder {
  readonly name: string;
  reply(message: string, context: ChatContext, signal?: AbortSignal): Promise<string>;
}

/** Answers by echoing, with the user's name and a count: deterministic, instant, offline. */
export class EchoResponder implements Responder {
  readonly name = 'echo';

  async reply(message: string, context: ChatContext): Promise<string> {
    const who = context.userName?.trim() || context.userEmail;
    const n = context.previousMessages + 1;
    return `Hello ${who}! You said: "${message}" (message #${n}).`;
  }
}
