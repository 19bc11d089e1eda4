/**
 * The per-user conversation: a message in, a reply out, both stored under the caller's id only.
 * Nothing is stored until the reply is complete, so a failed or abandoned upstream call leaves no
 * half-conversation behind.
 */
import type { ChatMessage, Store } from '../store/types.js';
import type { ChatTurn, Responder } from './responder.js';

export interface ChatUser {
  readonly id: string;
  readonly email: string;
  readonly name: string | null;
}

export interface SentExchange {
  readonly message: ChatMessage;
  readonly reply: ChatMessage;
}

export interface ChatServiceOptions {
  readonly store: Pick<Store, 'chat'>;
  readonly responder: Responder;
  readonly now: () => number;
  /** Earlier messages given to the responder as context. */
  readonly historyTurns?: number;
}

export class ChatService {
  readonly #store: Pick<Store, 'chat'>;
  readonly #responder: Responder;
  readonly #now: () => number;
  readonly #historyTurns: number;

  constructor(options: ChatServiceOptions) {
    this.#store = options.store;
    this.#responder = options.responder;
    this.#now = options.now;
    this.#historyTurns = options.historyTurns ?? 10;
  }

  get responderName(): string {
    return this.#responder.name;
  }

  /**
   * Sends `text` for `user`; `onToken` sees each piece of the reply as it arrives. Throws what the
   * responder throws (GatehouseError `upstream_error`) and what the store throws.
   */
  async send(
    user: ChatUser,
    text: string,
    options: { signal: AbortSignal; onToken?: (piece: string) => void },
  ): Promise<SentExchange> {
    const sentAt = new Date(this.#now());
    const [count, recent] = await Promise.all([
      this.#store.chat.count(user.id),
      this.#historyTurns > 0
        ? this.#store.chat.list(user.id, { limit: this.#historyTurns })
        : Promise.resolve([]),
    ]);
    const history: ChatTurn[] = recent
      .slice()
      .reverse()
      .map((m) => ({ role: m.role, content: m.content }));
    const context = {
      userName: user.name,
      userEmail: user.email,
      previousMessages: Math.ceil(count / 2),
      history,
    };
    let answer = '';
    for await (const piece of this.#responder.stream(text, context, options.signal)) {
      answer += piece;
      options.onToken?.(piece);
    }
    options.signal.throwIfAborted();
    // One transaction: an outage between the two writes must not leave a message without its reply.
    return this.#store.chat.appendExchange(
      user.id,
      { content: text, at: sentAt },
      { content: answer, at: new Date(this.#now()) },
    );
  }
}
