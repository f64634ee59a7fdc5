import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

import ipaddr from 'ipaddr.js';

import { Problem } from '../http/problem.js';

/*
 * Where a webhook may be delivered: public addresses only, checked when it is registered and again at every
 * delivery, and the delivery connects to the very address that was checked (no second lookup a DNS answer
 * could change in between). Ranges come from ipaddr.js's classification of the IANA special-purpose
 * registries: everything that is not `unicast` is refused, and IPv6 forms that carry an IPv4 address
 * (IPv4-mapped, NAT64, 6to4, Teredo) are judged by the IPv4 address they carry.
 */

/** Every address a host name resolves to. The system's resolver by default; tests inject their own. */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface TargetPolicy {
  /** Development only: loopback targets (FOCAL_WEBHOOKS_ALLOW_LOOPBACK), read at every delivery. */
  allowLoopback: boolean;
  resolve?: Resolver;
}

/** What an address is: public, or why not (`loopback` tells the one kind the development flag admits). */
export type AddressClass = { public: true } | { public: false; loopback: boolean; description: string };

const IPV4_RANGES: Record<string, string> = {
  unspecified: 'an unspecified address (0.0.0.0/8)',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address (169.254.0.0/16)',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  private: 'a private address',
  as112: 'an AS112 DNS address',
  amt: 'an AMT relay anycast address',
};

/** The blocks ipaddr.js groups as `reserved`, each named (most specific first). */
const IPV4_RESERVED: [string, string][] = [
  ['198.18.0.0/15', 'a benchmarking address (198.18.0.0/15)'],
  ['240.0.0.0/4', 'a reserved address (240.0.0.0/4)'],
  ['192.0.2.0/24', 'a documentation address (192.0.2.0/24)'],
  ['198.51.100.0/24', 'a documentation address (198.51.100.0/24)'],
  ['203.0.113.0/24', 'a documentation address (203.0.113.0/24)'],
  ['192.88.99.0/24', 'a 6to4 relay anycast address (192.88.99.0/24)'],
  ['192.0.0.0/24', 'an IETF protocol assignment (192.0.0.0/24)'],
];

const IPV6_RANGES: Record<string, string> = {
  unspecified: 'the unspecified address (::)',
  linkLocal: 'a link-local address (fe80::/10)',
  multicast: 'a multicast address (ff00::/8)',
  loopback: 'a loopback address',
  uniqueLocal: 'a unique local address (fc00::/7)',
  deprecatedSiteLocal: 'a site-local address (fec0::/10)',
  discard: 'a discard-only address (100::/64)',
  benchmarking: 'a benchmarking address (2001:2::/48)',
  reserved: 'a reserved or documentation address',
};

const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');
const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');

const ipv4Of = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);

function classifyIpv4(address: ipaddr.IPv4): AddressClass {
  const range = address.range();
  if (range === 'unicast') return { public: true };
  const description =
    range === 'reserved'
      ? (IPV4_RESERVED.find(([cidr]) => address.match(ipaddr.IPv4.parseCIDR(cidr)))?.[1] ??
        'a reserved address')
      : (IPV4_RANGES[range] ?? `a special-purpose address (${range})`);
  return { public: false, loopback: range === 'loopback', description };
}

/** An IPv6 form that carries an IPv4 address is as public as the address it carries, and no more. */
function carried(form: string, inner: ipaddr.IPv4[], loopbackCounts: boolean): AddressClass {
  for (const address of inner) {
    const verdict = classifyIpv4(address);
    if (!verdict.public) {
      return {
        public: false,
        loopback: loopbackCounts && verdict.loopback,
        description: `${form} carrying ${address.toString()}, ${verdict.description}`,
      };
    }
  }
  return { public: true };
}

/** Classifies one IP address (v4 or v6, as DNS or a URL gives it). */
export function classifyAddress(text: string): AddressClass {
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === 'ipv4') return classifyIpv4(parsed as ipaddr.IPv4);
  const address = parsed as ipaddr.IPv6;
  const parts = address.parts;
  const range = address.range();
  switch (range) {
    case 'ipv4Mapped':
      // ::ffff:a.b.c.d is how a dual-stack socket writes an IPv4 address: judged as that address.
      return carried('an IPv4-mapped address', [address.toIPv4Address()], true);
    case 'rfc6145':
      return carried('an IPv4-translated address', [ipv4Of(parts[6]!, parts[7]!)], false);
    case 'rfc6052':
      return address.match(NAT64)
        ? carried('a NAT64 address (64:ff9b::/96)', [ipv4Of(parts[6]!, parts[7]!)], false)
        : { public: false, loopback: false, description: 'a local-use NAT64 address (64:ff9b:1::/48)' };
    case '6to4':
      return carried('a 6to4 address (2002::/16)', [ipv4Of(parts[1]!, parts[2]!)], false);
    case 'teredo':
      // 2001:0:<server IPv4>:<flags>:<port>:<client IPv4, bits inverted>.
      return carried(
        'a Teredo address (2001::/32)',
        [ipv4Of(parts[2]!, parts[3]!), ipv4Of(~parts[6]! & 0xffff, ~parts[7]! & 0xffff)],
        false,
      );
    case 'unicast':
      // What ipaddr.js leaves as unicast outside 2000::/3 is unassigned (or the deprecated ::a.b.c.d form).
      return address.match(GLOBAL_UNICAST)
        ? { public: true }
        : {
            public: false,
            loopback: false,
            description: 'an address outside the global unicast range (2000::/3)',
          };
    default:
      return {
        public: false,
        loopback: range === 'loopback',
        description: IPV6_RANGES[range] ?? `a special-purpose address (${range})`,
      };
  }
}

/** A target that may not be delivered to, and why, in words for the owner (registration or `lastError`). */
export class TargetRefused extends Error {}

/** A URL with the address it resolved to, checked: the one a delivery connects to. */
export interface CheckedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a target's host and checks every address it has: one non-public address refuses the target (a
 * host with a private address among public ones would be reached at random). Loopback passes only with the
 * development flag.
 */
export async function resolveTarget(url: URL, policy: TargetPolicy): Promise<CheckedTarget> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await (policy.resolve ?? systemResolver)(host);
    } catch (error) {
      throw new TargetRefused(
        `${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'no answer'})`,
      );
    }
  }
  if (addresses.length === 0) throw new TargetRefused(`${host} does not resolve`);
  for (const { address } of addresses) {
    if (!ipaddr.isValid(address))
      throw new TargetRefused(`${host} resolves to ${address}, not an IP address`);
    const verdict = classifyAddress(address);
    if (verdict.public || (verdict.loopback && policy.allowLoopback)) continue;
    const hint =
      verdict.loopback && !policy.allowLoopback
        ? ' (loopback targets are for development, with FOCAL_WEBHOOKS_ALLOW_LOOPBACK=true)'
        : '';
    throw new TargetRefused(
      `${host} resolves to ${address}, ${verdict.description}: webhooks go to public addresses only${hint}`,
    );
  }
  const [first] = addresses;
  return { url, address: first!.address, family: first!.family === 6 ? 6 : 4 };
}

const invalid = (detail: string) =>
  new Problem(400, 'invalid-webhook-url', 'Invalid webhook URL', detail, { url: detail });

/** Checks a webhook URL at registration: http or https, no credentials, a host with public addresses only. */
export async function checkWebhookUrl(value: string, policy: TargetPolicy): Promise<URL> {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(`${value} is not a URL: give e.g. https://example.org/focal-hook`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(`${url.protocol} URLs are not delivered to: use https:// (or http://)`);
  }
  if (url.username || url.password)
    throw invalid('put no credentials in the URL: verify the signature instead');
  try {
    await resolveTarget(url, policy);
  } catch (error) {
    if (error instanceof TargetRefused) throw invalid(error.message);
    throw error;
  }
  return url;
}

/**
 * POSTs to a checked target, connecting to its checked address whatever DNS says now; the Host header and
 * the TLS server name stay the URL's host. Redirects are not followed. Answers the response's status.
 */
export function postToTarget(
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  /** Gives up at once when aborted (the gateway stopping): the answer no longer matters. */
  signal?: AbortSignal,
): Promise<number> {
  const { url, address, family } = target;
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    let timedOut = false;
    // Events of the request come after this function has returned, once `timer` is set.
    const done = (status: number) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abandon);
      resolve(status);
    };
    const fail = (error: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abandon);
      reject(timedOut ? new Error(`no answer within ${timeoutMs} ms`) : error);
    };
    const abandon = () => request.destroy(new Error('abandoned: the gateway is stopping'));
    const request = send(
      {
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: pinned,
        // A connection of its own: a pooled one could have been opened to an address checked earlier.
        agent: false,
      },
      (response: IncomingMessage) => {
        // The answer's body is read and dropped; only its status counts.
        response.resume();
        response.once('error', fail);
        response.once('close', () =>
          response.complete ? done(response.statusCode ?? 0) : fail(new Error('the answer was cut off')),
        );
      },
    );
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy(new Error('timed out'));
    }, timeoutMs);
    request.once('error', fail);
    if (signal?.aborted) abandon();
    else signal?.addEventListener('abort', abandon, { once: true });
    request.end(body);
  });
}
