// The private compliance suite against the SRV backend on a real BIND 9, started once for the file
// (every test uses fresh random names and secrets, so fresh slots).
import { afterAll, beforeAll, describe, it } from 'vitest'
import { encodeSignedPrivateRecord } from '@fara/rendezvous/private'
import { createSrvRendezvous, dnsClient, parseTsigKey, privateOwnerName } from '@fara/srv'
import { SEALED_CHUNK_BYTES, TXT_TAG_SEALED } from '@fara/srv/constants'
import { bindAvailable, startBind } from '../helpers/bind.ts'
import { privateRendezvousCompliance } from './private.ts'
import type { Bind } from '../helpers/bind.ts'

const name = 'dns srv (BIND 9)'

/** The TXT strings of a sealed record (spec/adapters.md): the tag, then the message in chunks of SEALED_CHUNK_BYTES. */
function sealedTxt (bytes: Uint8Array): Uint8Array[] {
  const strings: Uint8Array[] = [new TextEncoder().encode(TXT_TAG_SEALED)]
  for (let i = 0; i < bytes.byteLength; i += SEALED_CHUNK_BYTES) strings.push(bytes.subarray(i, i + SEALED_CHUNK_BYTES))
  return strings
}

if (bindAvailable(`private rendezvous compliance: ${name}`)) {
  let bind: Bind
  beforeAll(async () => { bind = await startBind() })
  afterAll(async () => { await bind?.stop() })

  privateRendezvousCompliance(name, async (clock) => {
    const key = parseTsigKey(bind.key.text)
    const init = { zone: bind.zone, server: bind.server, key, now: clock.now }
    return {
      // two clients of one zone: what one wrote, the other reads from the server
      rendezvous: createSrvRendezvous(init),
      peer: createSrvRendezvous(init),
      teardown: async () => {},
      // anyone with the zone's TSIG key writes what they like: the backend must refuse it when it reads
      plant: async (lookupKey, signed) => {
        await dnsClient({ server: bind.server, zone: bind.zone, key }).add([
          { type: 'TXT', name: privateOwnerName(lookupKey, bind.zone), ttl: 60, strings: sealedTxt(encodeSignedPrivateRecord(signed)) }
        ])
      },
      capabilities: {
        // a withdrawal deletes the slot's TXT RRset, so that its label answers NXDOMAIN exactly like a slot never
        // used (spec/adapters.md#srv-private-records); nothing is left to refuse the withdrawn record with, and
        // any holder of an update key could delete a remembered withdrawal anyway
        remembersWithdrawals: false,
        // the backend signs its DNS messages (TSIG, RFC 8945) at the clock it verifies records at, and named
        // refuses a time more than its fudge (300 s) from its own: the suite's clock stays within that
        maxClockOffsetMs: 240_000
      }
    }
  }, { plants: true, maxClockOffsetMs: 240_000 })
} else {
  // only without BIND 9 installed: bindAvailable() has already printed why, and throws instead when
  // FARA_REQUIRE_DAEMONS=1 (CI), so CI never reaches this skip
  describe.skip(`private rendezvous compliance: ${name} — skipped: BIND 9 missing`, () => {
    it('needs named, tsig-keygen, nsupdate and dig', () => {})
  })
}
