// The lab's address plan (spec/nat-lab.md#address-plan). Every address is in the
// RFC 2544 benchmarking range 198.18.0.0/15, which is never routed on the internet.

/** The NAT behaviours the lab can build (RFC 4787 terms in spec/nat-lab.md#nat-types). */
export const NAT_TYPES = ['full-cone', 'address-restricted', 'port-restricted', 'symmetric'] as const

/** The "public internet" segment: one bridge that the public host and every outer router join. */
export const PUBLIC_SUBNET = '198.18.0.0/24'
/** The public host's addresses: the first is its primary, the second lets a test (or a STUN server, RFC 5780) use another IP. */
export const PUBLIC_ADDRESSES = ['198.18.0.1', '198.18.0.2'] as const

/** Router WAN addresses on the public segment: NAT number n (1-based) gets 198.18.0.(10 + n). */
export const ROUTER_PUBLIC_BASE = 10
/** The carrier segment between the two routers of a double NAT n: 198.18.(100 + n).0/24. */
export const CARRIER_THIRD_OCTET_BASE = 100
/** The private LAN of NAT n: 198.19.n.0/24, router at .1, hosts from .(HOST_BASE + 1). */
export const HOST_BASE = 9

/** At most this many NATs in one lab (keeps every address plan octet in range). */
export const MAX_NATS = 50
/** At most this many hosts behind one NAT. */
export const MAX_HOSTS = 50
/** A NAT name: lower-case letters and digits, starting with a letter (it goes into namespace and set names). */
export const NAT_NAME = /^[a-z][a-z0-9]{0,11}$/

/** How long an ipset entry (the full-cone / address-restricted filter state) lives without traffic, in seconds; conntrack's own UDP stream timeout is 120 s too. */
export const MAPPING_TIMEOUT_S = 120

/** Where each live lab writes its owner marker (`<prefix>.json`), read by `sweepStaleLabs()`. */
export const MARKER_DIR = '/run/fara-lab'
/** Where `ip netns` keeps its named namespaces. */
export const NETNS_DIR = '/run/netns'
/** Every lab's namespaces are named `fl<6 hex>-<role>`. */
export const LAB_PREFIX = /^fl[0-9a-f]{6}$/
export const LAB_NAMESPACE = /^(fl[0-9a-f]{6})-/
