// The rendezvous compliance suite against the SRV backend on a real BIND 9,
// started once for the file (every test uses fresh random names).
import { afterAll, beforeAll, describe, it } from 'vitest'
import { createSrvRendezvous, parseTsigKey } from '@fara/srv'
import { bindAvailable, startBind } from '../helpers/bind.ts'
import { rendezvousCompliance } from './index.ts'
import type { Bind } from '../helpers/bind.ts'

const name = 'dns srv (BIND 9)'

if (bindAvailable(`rendezvous compliance: ${name}`)) {
  let bind: Bind
  beforeAll(async () => { bind = await startBind() })
  afterAll(async () => { await bind?.stop() })

  rendezvousCompliance(name, async (clock) => ({
    rendezvous: createSrvRendezvous({ zone: bind.zone, server: bind.server, key: parseTsigKey(bind.key.text), now: clock.now }),
    teardown: async () => {}
  }))
} else {
  // only without BIND 9 installed: bindAvailable() has already printed why, and throws instead when
  // FARA_REQUIRE_DAEMONS=1 (CI), so CI never reaches this skip
  describe.skip(`rendezvous compliance: ${name} — skipped: BIND 9 missing`, () => {
    it('needs named, tsig-keygen, nsupdate and dig', () => {})
  })
}
