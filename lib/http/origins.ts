// The Origin check at the upgrade (PROTOCOL.md "Authentication and access"):
// against cross-site websocket hijacking, where a page on another site opens
// a socket from a visitor's browser. Only browsers send Origin, and a page
// cannot forge it, so the check is about what browsers send: the serialized
// origin of RFC 6454 §6.2, `scheme://host[:port]` in lower case with the
// host in A-labels (punycode) and no default port. Anything else a client
// sends is refused rather than repaired; a client that is not a browser can
// leave the header out.

/**
 * `origin`: the request's Origin header, or undefined (or '') when absent;
 * `host`: its Host header. true: the upgrade may go on.
 */
export type OriginPolicy = (origin: string | undefined, host: string | undefined) => boolean;

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

// RFC 6454 §6 serializes an origin in ASCII. Also refuses what the WHATWG
// parser would quietly drop or fold: tabs, spaces (a list of origins), and
// characters whose lower case is ASCII (the Kelvin sign K is a k).
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

// The parser takes more than a browser can reach (`*`, `!`, empty labels):
// a name of non-empty labels, with the trailing dot of a fully qualified
// name, or an IPv6 literal (the parser has compressed it). IPv4 addresses are
// names here; the parser has written them in dotted decimal.
const HOST = /^(\[[0-9a-f:]+\]|[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?)$/;

/**
 * The serialized origin `written` stands for, or undefined when it is not
 * one: not http(s), a path, a query, userinfo, percent-encoding, a Unicode
 * host, an IPv4 or IPv6 address not in its shortest form. Only the case of
 * the scheme and host and an explicit default port are normalised.
 * `null`, the opaque origin, is no URL and is refused here: sandboxed
 * iframes, `file:` and `data:` pages send it, so any site can make a
 * browser send it, and allowing it would let every site in.
 */
function serializedOrigin(written: string): { readonly origin: string; readonly scheme: string } | undefined {
  if (!VISIBLE_ASCII.test(written) || !URL.canParse(written)) return undefined;
  const url = new URL(written);
  const defaultPort = DEFAULT_PORTS[url.protocol];
  if (defaultPort === undefined || !HOST.test(url.hostname)) return undefined;
  // The parser drops whatever does not belong to an origin (path, userinfo)
  // and decodes the rest, so a difference from what was written is a refusal.
  const lower = written.toLowerCase();
  return lower === url.origin || lower === `${url.origin}:${defaultPort}` ? { origin: url.origin, scheme: url.protocol } : undefined;
}

/** `https://*.example.com[:port]`: the origins that start with `prefix` and end with `suffix` (`.example.com[:port]`). */
interface Subdomains {
  readonly prefix: string;
  readonly suffix: string;
}

const WILDCARD = /^https?:\/\/\*\./i;

/** The origin an `allowedOrigins` entry stands for, and whether it means its subdomains. */
function parseEntry(entry: string): { readonly origin: string; readonly scheme: string; readonly subdomains: boolean } | undefined {
  const subdomains = WILDCARD.test(entry);
  const parsed = serializedOrigin(subdomains ? entry.replace('*.', '') : entry);
  return parsed && { ...parsed, subdomains };
}

/**
 * Whether an `allowedOrigins` entry is an origin a browser can send (or
 * `*.` and one): lib/config/schema.ts refuses the others at start, naming
 * the setting, since an entry that can never match is a mistake (a port
 * over 65535, a host that ends in a number but is no IPv4 address).
 */
export function isOriginEntry(entry: string): boolean {
  return parseEntry(entry) !== undefined;
}

/** `allowed`: config.allowedOrigins, each entry passing isOriginEntry. */
export function originPolicy(allowed: readonly string[]): OriginPolicy {
  const exact = new Set<string>();
  const subdomains: Subdomains[] = [];
  for (const entry of allowed) {
    const parsed = parseEntry(entry);
    if (parsed === undefined) throw new Error(`allowedOrigins: ${entry} is not an origin a browser sends`);
    if (parsed.subdomains) {
      const prefix = `${parsed.scheme}//`;
      subdomains.push({ prefix, suffix: `.${parsed.origin.slice(prefix.length)}` });
    } else {
      exact.add(parsed.origin);
    }
  }
  return (origin, host) => {
    // uWebSockets.js's getHeader gives '' for a missing header, so '' must
    // count as absent. It cannot let a page in: RFC 6454 §7.1 has no empty
    // Origin, and a browser sends `null` where it has no origin to send.
    if (!origin) return true;
    const parsed = serializedOrigin(origin);
    if (parsed === undefined) return false;
    if (exact.has(parsed.origin)) return true;
    if (subdomains.some(({ prefix, suffix }) => parsed.origin.startsWith(prefix) && parsed.origin.endsWith(suffix))) return true;
    // The daemon's own origin: the Host the request was sent to. The daemon
    // does not know whether a TLS proxy fronts it, so the scheme is the
    // Origin's, and so is the default port a Host without one means. (This
    // cannot stop DNS rebinding, where the page's own name resolves to the
    // daemon and comes as the Host: only a list of the daemon's names would.)
    return host !== undefined && serializedOrigin(`${parsed.scheme}//${host}`)?.origin === parsed.origin;
  };
}
