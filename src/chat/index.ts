/** The sample chat: responders and the per-user conversation service. */
import type { Config } from '../config/types.js';
import { OpenAiResponder } from './openai.js';
import { EchoResponder, type Responder } from './responder.js';

export { OpenAiResponder } from './openai.js';
export { type ChatContext, type ChatTurn, EchoResponder, type Responder, replyText } from './responder.js';
export { ChatService, type SentExchange } from './service.js';

/** The OpenAI-compatible responder when CHAT_API_URL, CHAT_API_KEY and CHAT_MODEL are set, else echo. */
export function createResponder(chat: Config['chat'], options: { fetch?: typeof fetch } = {}): Responder {
  const { apiUrl, apiKey, model } = chat;
  if (apiUrl === undefined || apiKey === undefined || model === undefined) return new EchoResponder();
  return new OpenAiResponder({
    apiUrl,
    apiKey,
    model,
    timeoutSeconds: chat.timeoutSeconds,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
