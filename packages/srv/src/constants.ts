/** DNS resource record types used here (RFC 1035 §3.2.2, RFC 2782, RFC 3596, RFC 6891, RFC 8945). */
export const RecordType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  TSIG: 250,
  ANY: 255
} as const

/** A DNS record type number. */
export type RecordType = typeof RecordType[keyof typeof RecordType]

/** DNS classes (RFC 1035 §3.2.4; NONE and ANY carry meaning in updates, RFC 2136 §2.4-2.5). */
export const RecordClass = {
  IN: 1,
  NONE: 254,
  ANY: 255
} as const

/** A DNS class number. */
export type RecordClass = typeof RecordClass[keyof typeof RecordClass]

/** Header opcodes (RFC 1035 §4.1.1, RFC 2136 §1). */
export const Opcode = {
  QUERY: 0,
  UPDATE: 5
} as const

/** A DNS opcode. */
export type Opcode = typeof Opcode[keyof typeof Opcode]

/** Header response codes (RFC 1035 §4.1.1, RFC 2136 §2.2). */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10
} as const

/** A DNS response code. */
export type Rcode = typeof Rcode[keyof typeof Rcode]

/** The TSIG RR's Error field (RFC 8945 §4.3, IANA "DNS RCODEs"). */
export const TsigErrorCode = {
  NOERROR: 0,
  BADSIG: 16,
  BADKEY: 17,
  BADTIME: 18,
  BADTRUNC: 22
} as const

/** A TSIG error code. */
export type TsigErrorCode = typeof TsigErrorCode[keyof typeof TsigErrorCode]

/** The only TSIG algorithm implemented (RFC 8945 §6: mandatory to implement). */
export const TSIG_ALGORITHM = 'hmac-sha256'

/** Length of an HMAC-SHA256 MAC; shorter (truncated, RFC 8945 §5.2.2.1) MACs are refused. */
export const TSIG_MAC_BYTES = 32

/** Permitted difference between the signer's and the verifier's clocks, in seconds (RFC 8945 §10: 300 recommended). */
export const TSIG_FUDGE_SECONDS = 300

/** Largest DNS message accepted or sent: the TCP length prefix is 16 bits (RFC 1035 §4.2.2). */
export const MAX_DNS_MESSAGE_BYTES = 65_535

/** Largest UDP message sent without EDNS (RFC 1035 §4.2.1); a larger answer comes back with TC set. */
export const MAX_UDP_BYTES = 512

/** Most records a decoded message may hold, all sections together. */
export const MAX_RECORDS = 2_048

/** Longest domain name in wire form, root label included (RFC 1035 §2.3.4). */
export const MAX_NAME_BYTES = 255

/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_BYTES = 63

/** Most compression pointers followed in one name (backward-only pointers already rule out loops). */
export const MAX_POINTER_HOPS = 64

/** Longest TXT character-string (RFC 1035 §3.3.14: one length octet). */
export const MAX_TXT_STRING_BYTES = 255

/** Default deadline of one DNS exchange, in ms. */
export const DEFAULT_TIMEOUT_MS = 5_000

/** Default UDP tries per query before giving up (a lost datagram is retried once). */
export const DEFAULT_UDP_TRIES = 2

/** Default DNS TTL of the records the SRV rendezvous publishes, in seconds (capped by the record's own lifetime). */
export const DEFAULT_DNS_TTL_SECONDS = 60

/** Read-decide-write rounds of the SRV rendezvous before a concurrent writer wins (RFC 2136 prerequisites detect the race). */
export const MAX_UPDATE_ATTEMPTS = 4

/** Service label of the SRV rendezvous owner names (`<name>._fara._tcp.<zone>`, spec/adapters.md#srv-names). */
export const FARA_SERVICE_LABEL = '_fara'

/** Protocol label of the SRV rendezvous owner names (RFC 2782). */
export const FARA_PROTO_LABEL = '_tcp'

/** Parent label of the host names SRV targets point to, per address family (spec/adapters.md#srv-hosts). */
export const FARA_HOST_LABEL = { 4: 'fara-ip4', 6: 'fara-ip6' } as const

/** First label of an encoded owner name, for Fara names that are not a dot-separated list of non-empty labels. */
export const ENCODED_NAME_LABEL = '_x'

/** First character-string of a TXT record that holds a live Fara record (spec/adapters.md#srv-txt). */
export const TXT_TAG_SLOT = 'fara1 slot'

/** First character-string of a TXT record that holds a Fara tombstone (spec/adapters.md#srv-txt). */
export const TXT_TAG_WITHDRAWN = 'fara1 withdrawn'

/** Longest base64 piece in one TXT character-string. */
export const TXT_CHUNK_CHARS = 255

/**
 * Parent label of the owner names of private records: `<base32 lookup key>._fara-p.<zone>`
 * (spec/adapters.md#srv-private-records). A host name cannot start with `_`, so it never meets {@link FARA_HOST_LABEL}s.
 */
export const FARA_PRIVATE_LABEL = '_fara-p'

/** First character-string of a TXT record that holds a sealed private record (spec/adapters.md#srv-private-records). */
export const TXT_TAG_SEALED = 'fara1 sealed'

/** Octets of a SignedPrivateRecord in each character-string after the tag: every string but the last is exactly this long (RFC 1035 §3.3.14 maximum). */
export const SEALED_CHUNK_BYTES = 255
