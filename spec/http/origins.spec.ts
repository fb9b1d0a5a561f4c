import { expect } from 'chai';
import fc from 'fast-check';
import { originPolicy } from '../../lib/http/origins';

const ALLOWED = ['https://chat.example.com', 'http://localhost:3000', 'https://*.example.net', 'HTTPS://Upper.Example.org:443', 'https://*.ports.test:8443'];
const policy = originPolicy(ALLOWED);
const HOST = 'warren.test:8081';

/** [Origin header, Host header, allowed, why]. */
type Case = readonly [string | undefined, string | undefined, boolean, string];

function check(cases: readonly Case[], under = policy): void {
  for (const [origin, host, allowed, why] of cases) expect(under(origin, host), `${why}: ${origin} with Host ${host}`).to.equal(allowed);
}

describe('http/origins', () => {
  it('allows a request without Origin (not a browser), an empty header counting as absent', () => {
    check([
      [undefined, HOST, true, 'no Origin'],
      [undefined, undefined, true, 'neither header'],
      ['', HOST, true, "uWS's getHeader for a missing header"],
      ['', undefined, true, 'empty, no Host'],
    ]);
  });

  it('refuses null, the opaque origin any site can make a browser send', () => {
    check([
      ['null', HOST, false, 'null'],
      ['null', undefined, false, 'null without Host'],
    ]);
    check([['null', 'null', false, 'null as the Host too']], originPolicy([]));
  });

  it('allows the exact entries, in any case and with or without their default port', () => {
    check([
      ['https://chat.example.com', HOST, true, 'exact'],
      ['HTTPS://CHAT.Example.COM', HOST, true, 'scheme and host in upper case'],
      ['https://chat.example.com:443', HOST, true, 'explicit default port'],
      ['http://localhost:3000', HOST, true, 'exact with a port'],
      ['https://upper.example.org', HOST, true, 'entry written in upper case with its default port'],
      ['https://UPPER.example.org:443', HOST, true, 'both written differently'],
    ]);
  });

  it('refuses what differs from an exact entry in scheme, port or host', () => {
    check([
      ['http://chat.example.com', HOST, false, 'http where the entry is https'],
      ['https://chat.example.com:80', HOST, false, "https on http's default port"],
      ['https://chat.example.com:8443', HOST, false, 'another port'],
      ['http://localhost', HOST, false, 'the default port where the entry has 3000'],
      ['http://localhost:3001', HOST, false, 'a port next to the entry'],
      ['https://localhost:3000', HOST, false, 'https where the entry is http'],
      ['https://example.com', HOST, false, "the entry's parent"],
      ['https://a.chat.example.com', HOST, false, 'a subdomain of an exact entry'],
      ['https://chat.example.com.evil.net', HOST, false, 'the entry as a subdomain of another site'],
      ['https://evilchat.example.com', HOST, false, 'the entry with a prefix'],
    ]);
  });

  it('allows the subdomains of a *. entry at any depth, but not the domain itself or look-alikes', () => {
    check([
      ['https://a.example.net', HOST, true, 'subdomain'],
      ['https://a.b.c.example.net', HOST, true, 'deeper subdomain'],
      ['https://A.Example.NET:443', HOST, true, 'case and default port'],
      ['https://x-1_y.example.net', HOST, true, 'hyphen and underscore'],
      ['https://example.net', HOST, false, 'the domain itself'],
      ['http://a.example.net', HOST, false, 'http where the entry is https'],
      ['https://a.example.net:8443', HOST, false, 'a port the entry does not have'],
      ['https://a.example.net.evil.com', HOST, false, 'the suffix inside another site'],
      ['https://evilexample.net', HOST, false, 'the suffix without its dot'],
      ['https://a.evilexample.net', HOST, false, 'a subdomain of the look-alike'],
      ['https://example.net.', HOST, false, 'the domain as a fully qualified name'],
      ['https://a.example.net.', HOST, false, 'a fully qualified name: a distinct origin for the browser'],
      ['https://.example.net', HOST, false, 'an empty label'],
      ['https://a..example.net', HOST, false, 'an empty label inside'],
      ['https://*.example.net', HOST, false, 'the entry itself as an Origin'],
      ['https://a!b.example.net', HOST, false, 'a character no host name has'],
    ]);
  });

  it('matches the port of a *. entry exactly', () => {
    check([
      ['https://a.ports.test:8443', HOST, true, 'subdomain on the port'],
      ['https://a.ports.test', HOST, false, 'default port'],
      ['https://a.ports.test:18443', HOST, false, 'a port ending in the same digits'],
      ['https://a.ports.test:844', HOST, false, 'a port starting with the same digits'],
      ['https://ports.test:8443', HOST, false, 'the domain itself'],
    ]);
    check([['https://a.default.test', HOST, true, 'an explicit default port in the entry']], originPolicy(['https://*.default.test:443']));
  });

  it('takes *. entries of either scheme', () => {
    check(
      [
        ['http://a.dev.test', HOST, true, 'http subdomain'],
        ['https://a.dev.test', HOST, false, 'https where the entry is http'],
        ['http://dev.test', HOST, false, 'the domain itself'],
      ],
      originPolicy(['HTTP://*.dev.test:80']),
    );
  });

  it("allows the daemon's own origin: the Host the request was sent to", () => {
    check([
      ['http://warren.test:8081', HOST, true, 'own origin'],
      ['https://warren.test:8081', HOST, true, 'behind a TLS proxy on the same port'],
      ['HTTP://WARREN.test:8081', HOST, true, 'case of the Origin'],
      ['http://warren.test:8081', 'WARREN.TEST:8081', true, 'case of the Host'],
      ['https://chat.internal', 'chat.internal', true, 'a Host without a port: the default one'],
      ['https://chat.internal', 'chat.internal:443', true, 'a Host with the default port'],
      ['http://chat.internal', 'chat.internal:80', true, "http's default port"],
      ['http://warren.test:8082', HOST, false, 'another port'],
      ['http://warren.test', HOST, false, 'the default port where the Host has one'],
      ['http://other.test:8081', HOST, false, 'another host'],
      ['http://a.warren.test:8081', HOST, false, 'a subdomain of the Host'],
      ['https://chat.internal:80', 'chat.internal', false, "http's default port under https"],
      ['http://chat.internal', 'chat.internal:443', false, "https's default port under http"],
      ['https://chat.internal.', 'chat.internal', false, 'a fully qualified name against a Host without the dot'],
      ['https://chat.internal.', 'chat.internal.', true, 'a fully qualified name in both'],
      ['http://warren.test:8081', undefined, false, 'no Host'],
      ['http://warren.test:8081', '', false, 'an empty Host'],
      ['http://undefined', undefined, false, 'no Host is no host named undefined'],
    ]);
  });

  it('refuses a malformed Host rather than repairing it', () => {
    check([
      ['http://warren.test:8081', 'warren.test:8081/x', false, 'a path'],
      ['http://warren.test:8081', 'user@warren.test:8081', false, 'userinfo'],
      ['http://warren.test:8081', 'warren.test:8081 ', false, 'a space'],
      ['http://warren.test:8081', 'warren.test:08081', false, 'a port with a leading zero'],
      ['http://warren.test:8081', 'warren.test:8081:8081', false, 'two ports'],
    ]);
  });

  it('handles IPv6 and IPv4 literals in their shortest form', () => {
    check([
      ['http://[::1]:8081', '[::1]:8081', true, 'IPv6 own origin'],
      ['http://[::1]', '[::1]:80', true, 'IPv6 with the default port in the Host'],
      ['http://[::1]:80', '[::1]', true, 'IPv6 with the default port in the Origin'],
      ['http://[::ABCD]:8081', '[::abcd]:8081', true, 'IPv6 in upper case'],
      ['http://[::1]:8081', '[0:0:0:0:0:0:0:1]:8081', false, 'a Host not in its shortest form'],
      ['http://[0:0:0:0:0:0:0:1]:8081', '[::1]:8081', false, 'an Origin not in its shortest form'],
      ['http://[::1]:8081', '[::2]:8081', false, 'another address'],
      ['http://[::1:8081', '[::1]:8081', false, 'no closing bracket'],
      ['http://::1:8081', '[::1]:8081', false, 'no brackets'],
      ['http://[fe80::1%25eth0]:8081', '[fe80::1%25eth0]:8081', false, 'a zone'],
      ['http://127.0.0.1:8081', '127.0.0.1:8081', true, 'IPv4 own origin'],
      ['http://127.1:8081', '127.1:8081', false, 'IPv4 not in dotted decimal'],
      ['http://2130706433:8081', '127.0.0.1:8081', false, 'IPv4 as one number'],
    ]);
  });

  it('refuses malformed Origins, even where the URL parser would repair them into an allowed one', () => {
    check([
      ['https://chat.example.com/', HOST, false, 'a trailing slash'],
      ['https://chat.example.com/path', HOST, false, 'a path'],
      ['https://chat.example.com?x', HOST, false, 'a query'],
      ['https://chat.example.com#x', HOST, false, 'a fragment'],
      ['https://user@chat.example.com', HOST, false, 'userinfo'],
      ['https://user:pw@chat.example.com', HOST, false, 'userinfo with a password'],
      ['https://chat.example.com:', HOST, false, 'an empty port'],
      ['https://chat.example.com:0443', HOST, false, 'a port with a leading zero'],
      ['https://chat.example.com:99999', HOST, false, 'a port over 65535'],
      ['https:chat.example.com', HOST, false, 'no //'],
      ['https:///chat.example.com', HOST, false, 'three slashes'],
      ['https:\\\\chat.example.com', HOST, false, 'backslashes'],
      [' https://chat.example.com', HOST, false, 'a leading space'],
      ['https://chat.example.com\t', HOST, false, 'a trailing tab'],
      ['https://chat.example.com https://evil.net', HOST, false, 'a list of origins (RFC 6454 §7)'],
      ['https://chat.ex\tample.com', HOST, false, 'a tab the parser would drop'],
      ['https://chat.ex%61mple.com', HOST, false, 'percent-encoding'],
      ['https://chat', HOST, false, 'another host'],
      ['chat.example.com', HOST, false, 'no scheme'],
      ['garbage', HOST, false, 'garbage'],
      ['https://', HOST, false, 'no host'],
    ]);
    const kite = originPolicy(['https://kite.example']);
    check(
      [
        ['https://\u212Aite.example', HOST, false, 'a Kelvin sign, whose lower case is k'],
        ['https://kite.example', HOST, true, 'the same in ASCII'],
      ],
      kite,
    );
  });

  it('refuses other schemes, even with a host that would be allowed', () => {
    const everything = originPolicy(['https://*.example.com', 'https://example.com']);
    check(
      [
        ['chrome-extension://abcdefghijklmnop', 'abcdefghijklmnop', false, 'an extension'],
        ['moz-extension://4b1c2d3e', HOST, false, 'a Firefox extension'],
        ['file://', HOST, false, 'file'],
        ['ws://example.com', 'example.com', false, 'ws'],
        ['wss://a.example.com', HOST, false, 'wss'],
        ['ftp://example.com', 'example.com', false, 'ftp'],
        ['data:text/html,x', HOST, false, 'data'],
        ['javascript:alert(1)', HOST, false, 'javascript'],
      ],
      everything,
    );
  });

  it('compares IDNs in their A-labels, as browsers send them, and refuses the Unicode form', () => {
    const idn = originPolicy(['https://xn--bcher-kva.example', 'https://*.xn--caf-dma.example']);
    check(
      [
        ['https://xn--bcher-kva.example', HOST, true, 'A-labels'],
        ['https://XN--BCHER-KVA.example', HOST, true, 'A-labels in upper case'],
        ['https://bücher.example', HOST, false, 'U-labels the parser would convert'],
        ['https://menu.xn--caf-dma.example', HOST, true, 'a subdomain of an A-label'],
        ['https://menu.café.example', HOST, false, 'its Unicode form'],
      ],
      idn,
    );
  });

  it('with no entries allows only no Origin and the own origin', () => {
    check(
      [
        [undefined, HOST, true, 'no Origin'],
        ['http://warren.test:8081', HOST, true, 'own origin'],
        ['https://chat.example.com', HOST, false, 'anything else'],
      ],
      originPolicy([]),
    );
  });

  it('refuses at start an entry that no browser could send', () => {
    for (const entry of ['https://example.com:99999', 'http://a.123', 'https://*.a.123', 'http://0x7f.0.0.1', 'https://*.example.com:70000']) {
      expect(() => originPolicy([entry]), entry).to.throw(`allowedOrigins: ${entry} is not an origin a browser sends`);
    }
  });

  it('never lets a host match *.<suffix> unless it ends with . and the suffix', () => {
    const upperSome = (text: string) => fc.array(fc.boolean(), { minLength: text.length, maxLength: text.length }).map((up) => [...text].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
    const cases = fc
      .tuple(fc.domain(), fc.constantFrom('https', 'HTTPS', 'http'))
      .chain(([suffix, scheme]) =>
        fc
          .oneof(
            fc.domain(),
            fc.constant(suffix),
            label.map((l) => `${l}.${suffix}`),
            fc.tuple(label, label).map(([a, b]) => `${a}.${b}.${suffix}`),
            label.map((l) => `${l}${suffix}`),
            label.map((l) => `${l}-${suffix}`),
            label.map((l) => `${suffix}.${l}x`),
          )
          .chain((host) => upperSome(host).map((written) => ({ suffix, scheme, host, written }))),
      );
    fc.assert(
      fc.property(cases, ({ suffix, scheme, host, written }) => {
        const matches = originPolicy([`https://*.${suffix}`])(`${scheme}://${written}`, 'warren.test');
        expect(matches, `${scheme}://${written} against https://*.${suffix}`).to.equal(scheme !== 'http' && host.endsWith(`.${suffix}`));
      }),
      { numRuns: 1000 },
    );
  });
});
