// Types for byok-client.js: use the keys in a person's byok vault from your web app without
// any script of your page ever holding one.

export type ProviderId =
  | "openai" | "anthropic" | "gemini" | "openrouter" | "mistral" | "groq" | "deepseek" | "xai"
  | "together" | "fireworks" | "cerebras" | "perplexity" | "azure" | "custom";

/** What an app is told of the vault: never a label, an id or a key. */
export interface ByokStatus {
  /** Whether the person connected this app (`null` while the vault is locked). */
  connected: boolean | null;
  locked: boolean;
  /** Providers with a usable key (empty while locked or not connected). */
  providers: ProviderId[];
}

/** What a grant's consent returns: the token a job of yours uses (shown once). */
export interface ByokGrant {
  token: string;
  id: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export interface ByokGrantScope {
  ttlSeconds?: number;
  maxRequests?: number;
  models?: string[];
  label?: string;
}

export type ByokErrorCode =
  | "vault_unreachable"
  | "not_allowed"
  | "not_connected"
  | "locked"
  | "no_key"
  | "denied"
  | "forbidden_path"
  | "aborted"
  | "unreachable"
  | "storage_partitioned"
  | "popup_blocked"
  | "bad_message";

export class ByokError extends Error {
  readonly name: "ByokError";
  readonly code: ByokErrorCode;
}

export class Byok {
  private constructor();
  /** Frames the vault's embed document (hidden) and connects to it. */
  static connect(options: { vault: string; timeoutMs?: number }): Promise<Byok>;
  status(): Promise<ByokStatus>;
  /** From a click: a vault window asks the person to connect this app. */
  requestAccess(options?: { providers?: ProviderId[] }): Promise<boolean>;
  /** From a click: a vault window asks the person for a grant of `provider`'s key. */
  grant(provider: ProviderId, scope?: ByokGrantScope): Promise<ByokGrant>;
  /** The vault's settings page, in a popup or a tab. */
  openSettings(): Window | undefined;
  /** `fetch` through the vault; `path` is below the provider's. When the provider refuses a
   * key (401, 403, 429) the vault sends the same request with the person's next key; the
   * Response's `X-BYOK-Attempts` says how many were tried and `X-BYOK-Key-Id` names the key
   * that served by an id of this app's own (never the vault's id, a label or the key).
   * For "azure", `path` starts at `/openai/v1/...`: the vault puts each key's resource before
   * it, and the app never learns it. */
  fetch(provider: ProviderId, path: string, init?: RequestInit): Promise<Response>;
  onChange(listener: (status: ByokStatus) => void): () => void;
  disconnect(): void;
}
