import protobuf from 'protobufjs/light.js'
import { descriptor } from './association-proto.ts'

const root = protobuf.Root.fromJSON(descriptor as unknown as protobuf.INamespace)

/** protobufjs types for spec/proto/association.proto. */
export const OpenType = root.lookupType('fara.association.v1.Open')
export const ReplyType = root.lookupType('fara.association.v1.Reply')
export const ResumeType = root.lookupType('fara.association.v1.Resume')
export const ResumeReplyType = root.lookupType('fara.association.v1.ResumeReply')

/** Options that make protobufjs return plain values with defaults filled in. */
export const TO_OBJECT: protobuf.IConversionOptions = { defaults: true, longs: Number, enums: Number }
