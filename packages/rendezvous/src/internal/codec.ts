import protobuf from 'protobufjs/light.js'
import { descriptor } from './rendezvous-proto.ts'

const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace)

/** protobufjs types for spec/proto/rendezvous.proto. */
export const RecordType = root.lookupType('fara.rendezvous.v1.Record')
export const SignedRecordType = root.lookupType('fara.rendezvous.v1.SignedRecord')
export const RequestType = root.lookupType('fara.rendezvous.v1.Request')
export const ResponseType = root.lookupType('fara.rendezvous.v1.Response')
export const PrivateRecordType = root.lookupType('fara.rendezvous.v1.PrivateRecord')
export const SignedPrivateRecordType = root.lookupType('fara.rendezvous.v1.SignedPrivateRecord')

// the decode helpers every Fara codec shares
export { bytesOf, tryDecode } from '@fara/identity'
