import { privatePointSetup } from './point-setups.ts'
import { privateRendezvousCompliance } from './private.ts'

privateRendezvousCompliance('rendezvous point (in-memory store)', privatePointSetup())
