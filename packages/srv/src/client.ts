import { randomInt } from 'node:crypto'
import { DEFAULT_TIMEOUT_MS, DEFAULT_UDP_TRIES, Opcode, Rcode, RecordClass, RecordType, TsigErrorCode } from './constants.ts'
import {
  DnsUnavailableError, MalformedMessageError, NotAuthoritativeError, PrerequisiteFailedError, TsigBadKeyError, TsigBadSignatureError,
  TsigBadTimeError, TsigVerificationError, UpdateFailedError, UpdateRefusedError, rcodeName
} from './errors.ts'
import { keySecret } from './key.ts'
import { decodeMessage, encodeMessage } from './internal/message.ts'
import { encodeRdata, typeCode, typeOf } from './internal/rdata.ts'
import { exchangeTcp, exchangeUdp, parseServer } from './internal/transport.ts'
import { signMessage, verifyResponse } from './internal/tsig.ts'
import { Reader, inZone, nameToLabels, sameName } from './internal/wire.ts'
import type { DecodedMessage, Question, WireRecord } from './internal/message.ts'
import type { KeyMaterial } from './internal/tsig.ts'
import type { ServerAddress } from './internal/transport.ts'
import type { TsigKey } from './key.ts'
import type { DnsRecord, RecordTypeName } from './records.ts'
import type { AbortOptions } from '@libp2p/interface'

/** Options for {@link dnsClient}. */
export interface DnsClientInit {
  /** The server, an IP address with an optional port: `'127.0.0.1:5353'`, `'[::1]:53'`. */
  server: string
  /** The zone updates go to (the UPDATE zone section, RFC 2136 §2.3); needed for updates only. */
  zone?: string
  /**
   * TSIG key (RFC 8945, hmac-sha256): signs every request, and every response
   * must verify under it. Without one, updates go unsigned (only for servers
   * that allow updates by address) and nothing authenticates the answers.
   */
  key?: TsigKey
  /** Transport of updates: `'tcp'` (default) or `'udp'` (falls back to TCP on TC). Queries always start on UDP. */
  transport?: 'udp' | 'tcp'
  /** Deadline of one exchange in ms (default {@link DEFAULT_TIMEOUT_MS}). */
  timeout?: number
  /** Clock for TSIG times, ms since the epoch (default `Date.now`); tests inject a skewed one. */
  now?: () => number
}

/** An RFC 2136 prerequisite (§2.4): what must hold for the update to apply at all. */
export type Prerequisite =
  /** §2.4.1 RRset exists (value independent). */
  | { require: 'exists', name: string, type: RecordTypeName | number }
  /** §2.4.2 RRset exists (value dependent): the RRset of these records' name and type is exactly these records. */
  | { require: 'equals', records: DnsRecord[] }
  /** §2.4.3 RRset does not exist. */
  | { require: 'absent', name: string, type: RecordTypeName | number }
  /** §2.4.4 Name is in use. */
  | { require: 'nameInUse', name: string }
  /** §2.4.5 Name is not in use. */
  | { require: 'nameNotInUse', name: string }

/** An RFC 2136 change (§2.5). */
export type Change =
  /** §2.5.1 Add to an RRset. */
  | { op: 'add', record: DnsRecord }
  /** §2.5.2 Delete an RRset. */
  | { op: 'deleteRRset', name: string, type: RecordTypeName | number }
  /** §2.5.3 Delete all RRsets from a name. */
  | { op: 'deleteName', name: string }
  /** §2.5.4 Delete an RR from an RRset. */
  | { op: 'deleteRecord', record: DnsRecord }

/** One UPDATE message: every prerequisite must hold, then every change applies, atomically (RFC 2136 §3). */
export interface UpdateRequest {
  prerequisites?: Prerequisite[]
  changes: Change[]
}

/** A DNS client for one server: queries and signed dynamic updates. */
export interface DnsClient {
  /** The records of `name` and `type` (class IN) the server answers; `[]` for NXDOMAIN or NODATA. CNAMEs are not followed. */
  query: (name: string, type: RecordTypeName | number, options?: AbortOptions) => Promise<DnsRecord[]>
  /** Send one UPDATE; resolves when the server answered NOERROR in a response signed with the key. */
  update: (request: UpdateRequest, options?: AbortOptions) => Promise<void>
  /** Add records (each to its RRset). */
  add: (records: DnsRecord[], options?: AbortOptions) => Promise<void>
  /** Replace the RRset of `name` and `type` by `records` in one UPDATE (delete RRset, then add). */
  replace: (name: string, type: RecordTypeName | number, records: DnsRecord[], options?: AbortOptions) => Promise<void>
  /** Delete the RRset of `name` and `type`. */
  remove: (name: string, type: RecordTypeName | number, options?: AbortOptions) => Promise<void>
  /** Delete one record from its RRset. */
  removeRecord: (record: DnsRecord, options?: AbortOptions) => Promise<void>
}

const empty: Uint8Array = new Uint8Array(0)

/** Map an update response's RCODE to its error (NOERROR returns). */
function updateError (rcode: number): Error | undefined {
  switch (rcode) {
    case Rcode.NOERROR: return undefined
    case Rcode.REFUSED: return new UpdateRefusedError()
    case Rcode.NOTAUTH: case Rcode.NOTZONE: return new NotAuthoritativeError(rcode, `server answered ${rcodeName(rcode)}: not authoritative for the zone, or a name is outside it`)
    case Rcode.YXDOMAIN: case Rcode.YXRRSET: case Rcode.NXDOMAIN: case Rcode.NXRRSET:
      return new PrerequisiteFailedError(rcode, `update prerequisite failed (${rcodeName(rcode)}); nothing was changed`)
    default: return new UpdateFailedError(rcode, `update failed (${rcodeName(rcode)})`)
  }
}

/**
 * Check the TSIG of a response to a signed request. A response that reports
 * success must verify; an unsigned error answer (which a server sends when it
 * cannot verify the request, RFC 8945 §5.3.2) is passed on as its error.
 */
function checkTsig (bytes: Uint8Array, resp: DecodedMessage, key: KeyMaterial, requestMac: Uint8Array, nowSeconds: number): void {
  const t = resp.tsig
  if (t == null) {
    if (resp.rcode === Rcode.NOERROR) throw new TsigVerificationError('the server answered a signed request with an unsigned NOERROR response')
    return
  }
  if (t.mac.byteLength === 0 && t.error === TsigErrorCode.BADKEY) throw new TsigBadKeyError(`server does not know key ${JSON.stringify(key.name)} (NOTAUTH/BADKEY)`)
  if (t.mac.byteLength === 0 && t.error === TsigErrorCode.BADSIG) throw new TsigBadSignatureError('server could not verify the request MAC (NOTAUTH/BADSIG): wrong secret?')
  verifyResponse(bytes, resp, key, requestMac, nowSeconds)
  switch (t.error) {
    case TsigErrorCode.NOERROR: return
    case TsigErrorCode.BADKEY: throw new TsigBadKeyError()
    case TsigErrorCode.BADSIG: throw new TsigBadSignatureError()
    case TsigErrorCode.BADTIME: {
      const server = t.otherData.byteLength === 6 ? new Reader(t.otherData).u48() : undefined
      throw new TsigBadTimeError(`request time ${t.timeSigned} is outside the server's fudge of ${t.fudge} s${server == null ? '' : ` (server time ${server})`} (NOTAUTH/BADTIME)`,
        server == null ? undefined : server * 1000)
    }
    default: throw new UpdateFailedError(t.error, `server answered with TSIG error ${rcodeName(t.error)}`)
  }
}

class Client implements DnsClient {
  readonly #server: ServerAddress
  readonly #zone: string | undefined
  readonly #key: KeyMaterial | undefined
  readonly #transport: 'udp' | 'tcp'
  readonly #timeout: number
  readonly #now: () => number

  constructor (init: DnsClientInit) {
    if (init == null || typeof init !== 'object') throw new TypeError('init must be an object')
    this.#server = parseServer(init.server)
    if (init.zone != null) nameToLabels(init.zone)
    this.#zone = init.zone
    this.#key = init.key == null ? undefined : { name: init.key.name, secret: keySecret(init.key) }
    if (init.transport != null && init.transport !== 'udp' && init.transport !== 'tcp') throw new RangeError(`transport must be 'udp' or 'tcp', got ${JSON.stringify(init.transport)}`)
    this.#transport = init.transport ?? 'tcp'
    this.#timeout = init.timeout ?? DEFAULT_TIMEOUT_MS
    if (!Number.isSafeInteger(this.#timeout) || this.#timeout <= 0) throw new RangeError(`timeout must be a positive integer of ms, got ${init.timeout}`)
    this.#now = init.now ?? Date.now
  }

  /** Sign (if keyed), send, decode and check id, QR, opcode and the echoed question; verify the TSIG. */
  async #exchange (opcode: number, question: Question, sections: { answers?: WireRecord[], authorities?: WireRecord[] }, udp: boolean, options?: AbortOptions): Promise<DecodedMessage> {
    options?.signal?.throwIfAborted()
    const id = randomInt(0, 0x10000)
    let bytes = encodeMessage({
      id, qr: false, opcode, aa: false, tc: false, rd: false, ra: false, rcode: 0,
      questions: [question], answers: sections.answers ?? [], authorities: sections.authorities ?? [], additionals: []
    })
    let mac = empty
    if (this.#key != null) ({ bytes, mac } = signMessage(bytes, this.#key, { timeSigned: Math.floor(this.#now() / 1000) }))
    const opts = { timeout: this.#timeout, ...(options?.signal == null ? {} : { signal: options.signal }) }
    let answer = udp ? await exchangeUdp(this.#server, bytes, { ...opts, tries: DEFAULT_UDP_TRIES }) : undefined
    let resp = answer == null ? undefined : decodeMessage(answer)
    if (answer == null || resp?.tc === true) {
      answer = await exchangeTcp(this.#server, bytes, opts) // RFC 1035 §4.2.1 / RFC 7766 §5: retry a truncated answer over TCP
      resp = decodeMessage(answer)
    }
    if (resp == null) throw new MalformedMessageError('no response')
    if (resp.id !== id || !resp.qr || resp.opcode !== opcode) throw new MalformedMessageError(`response (id ${resp.id}, opcode ${resp.opcode}) does not answer request (id ${id}, opcode ${opcode})`)
    const q = resp.questions[0]
    // some servers leave out the question in error answers; if present it must be ours
    if (resp.questions.length > 1 || (q != null && (!sameName(q.name, question.name) || q.type !== question.type || q.class !== question.class))) {
      throw new MalformedMessageError('response question does not match the request')
    }
    if (this.#key != null) checkTsig(answer, resp, this.#key, mac, Math.floor(this.#now() / 1000))
    return resp
  }

  async query (name: string, type: RecordTypeName | number, options?: AbortOptions): Promise<DnsRecord[]> {
    nameToLabels(name)
    const code = typeOf(type)
    const resp = await this.#exchange(Opcode.QUERY, { name, type: code, class: RecordClass.IN }, {}, true, options)
    if (resp.rcode === Rcode.NXDOMAIN) return []
    if (resp.rcode !== Rcode.NOERROR) throw new DnsUnavailableError(`server answered ${rcodeName(resp.rcode)} to a query for ${name}`)
    return resp.answers.filter(a => a.record != null && a.type === code && sameName(a.name, name)).map(a => a.record!)
  }

  async update (request: UpdateRequest, options?: AbortOptions): Promise<void> {
    if (this.#zone == null) throw new RangeError('updates need init.zone')
    if (request == null || !Array.isArray(request.changes)) throw new TypeError('request.changes must be an array')
    const answers = (request.prerequisites ?? []).flatMap(p => this.#prerequisite(p))
    const authorities = request.changes.map(c => this.#change(c))
    const resp = await this.#exchange(Opcode.UPDATE, { name: this.#zone, type: RecordType.SOA, class: RecordClass.IN }, { answers, authorities }, this.#transport === 'udp', options)
    const err = updateError(resp.rcode)
    if (err != null) throw err
  }

  #name (name: string): string {
    nameToLabels(name)
    if (!inZone(name, this.#zone!)) throw new RangeError(`${JSON.stringify(name)} is not in zone ${JSON.stringify(this.#zone)}`)
    return name
  }

  #prerequisite (p: Prerequisite): WireRecord[] {
    switch (p?.require) {
      case 'exists': return [{ name: this.#name(p.name), type: typeOf(p.type), class: RecordClass.ANY, ttl: 0, rdata: empty }]
      case 'absent': return [{ name: this.#name(p.name), type: typeOf(p.type), class: RecordClass.NONE, ttl: 0, rdata: empty }]
      case 'nameInUse': return [{ name: this.#name(p.name), type: RecordType.ANY, class: RecordClass.ANY, ttl: 0, rdata: empty }]
      case 'nameNotInUse': return [{ name: this.#name(p.name), type: RecordType.ANY, class: RecordClass.NONE, ttl: 0, rdata: empty }]
      case 'equals': {
        const first = p.records[0]
        if (first == null) throw new RangeError("an 'equals' prerequisite needs at least one record (use 'absent' for an empty RRset)")
        return p.records.map(r => {
          if (!sameName(r.name, first.name) || typeCode(r) !== typeCode(first)) throw new RangeError("the records of an 'equals' prerequisite must share one name and type")
          return { name: this.#name(r.name), type: typeCode(r), class: RecordClass.IN, ttl: 0, rdata: encodeRdata(r) }
        })
      }
      default: throw new RangeError(`unknown prerequisite ${JSON.stringify((p as { require?: unknown })?.require)}`)
    }
  }

  #change (c: Change): WireRecord {
    switch (c?.op) {
      case 'add': return { name: this.#name(c.record.name), type: typeCode(c.record), class: RecordClass.IN, ttl: c.record.ttl, rdata: encodeRdata(c.record) }
      case 'deleteRRset': return { name: this.#name(c.name), type: typeOf(c.type), class: RecordClass.ANY, ttl: 0, rdata: empty }
      case 'deleteName': return { name: this.#name(c.name), type: RecordType.ANY, class: RecordClass.ANY, ttl: 0, rdata: empty }
      case 'deleteRecord': return { name: this.#name(c.record.name), type: typeCode(c.record), class: RecordClass.NONE, ttl: 0, rdata: encodeRdata(c.record) }
      default: throw new RangeError(`unknown change ${JSON.stringify((c as { op?: unknown })?.op)}`)
    }
  }

  async add (records: DnsRecord[], options?: AbortOptions): Promise<void> {
    await this.update({ changes: records.map(record => ({ op: 'add', record })) }, options)
  }

  async replace (name: string, type: RecordTypeName | number, records: DnsRecord[], options?: AbortOptions): Promise<void> {
    for (const r of records) {
      if (!sameName(r.name, name) || typeCode(r) !== typeOf(type)) throw new RangeError(`every record must have name ${JSON.stringify(name)} and type ${String(type)}`)
    }
    await this.update({ changes: [{ op: 'deleteRRset', name, type }, ...records.map(record => ({ op: 'add' as const, record }))] }, options)
  }

  async remove (name: string, type: RecordTypeName | number, options?: AbortOptions): Promise<void> {
    await this.update({ changes: [{ op: 'deleteRRset', name, type }] }, options)
  }

  async removeRecord (record: DnsRecord, options?: AbortOptions): Promise<void> {
    await this.update({ changes: [{ op: 'deleteRecord', record }] }, options)
  }
}

/**
 * A DNS client for one server: plain queries, and RFC 2136 dynamic updates
 * signed with TSIG (RFC 8945, hmac-sha256) whose signed answer is verified.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs/promises'
 * import { dnsClient, parseTsigKey } from '@fara/srv'
 *
 * const dns = dnsClient({ server: '127.0.0.1:5353', zone: 'example.test', key: parseTsigKey(await readFile('fara.key', 'utf8')) })
 * await dns.replace('_chat._tcp.example.test', 'SRV', [{ type: 'SRV', name: '_chat._tcp.example.test', ttl: 60, priority: 0, weight: 0, port: 40123, target: 'host.example.test' }])
 * console.log(await dns.query('_chat._tcp.example.test', 'SRV'))
 * ```
 *
 * @throws {@link DnsUnavailableError} when the server does not answer in time, the connection fails, or a query gets an error RCODE other than NXDOMAIN.
 * @throws {@link MalformedMessageError} when the answer does not decode or does not answer the request.
 * @throws {@link UpdateRefusedError} when the server refuses an update (REFUSED: unsigned, or a key not allowed to update the zone).
 * @throws {@link NotAuthoritativeError} when the server is not authoritative for the zone, or a name is outside it.
 * @throws {@link PrerequisiteFailedError} when a prerequisite of an update fails: nothing was changed.
 * @throws {@link UpdateFailedError} when an update fails with any other RCODE or TSIG error.
 * @throws {@link TsigBadKeyError} when the server does not know the TSIG key.
 * @throws {@link TsigBadSignatureError} when the server cannot verify the request's MAC (a wrong secret).
 * @throws {@link TsigBadTimeError} when the request's time is outside the server's fudge (a wrong clock).
 * @throws {@link TsigVerificationError} when the answer to a signed request is unsigned or does not verify under the key.
 * @throws `TypeError` when `init` or an argument has the wrong type.
 * @throws `RangeError` when `server`, `transport` or `timeout` is out of range, an update is sent without `zone`, or a name is outside it.
 */
export function dnsClient (init: DnsClientInit): DnsClient {
  return new Client(init)
}
