/**
 * uWebSockets.js, and which of its two implementations loaded.
 *
 * Its loader tries the native binary for this platform and Node ABI and, if
 * that fails (another Node version, a missing binary, UWS_USE_FALLBACK=1),
 * silently falls back to a much slower pure-JavaScript implementation. The
 * native module exports `getParts`; the fallback does not. The namespace
 * import works with both (the fallback's default export lacks half the API).
 */
import * as uWS from 'uWebSockets.js';

export type UwsRuntime = 'native' | 'fallback';

export const uwsRuntime: UwsRuntime = typeof (uWS as unknown as { getParts?: unknown }).getParts === 'function' ? 'native' : 'fallback';

export { uWS };
