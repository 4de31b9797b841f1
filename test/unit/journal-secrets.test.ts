// Which requests the journal redacts when the call arrives (instead of keeping their bytes to decode
// when read): read from the proto types, not from a list kept by hand.
import { expect, test } from 'vitest'
import { methodsCarryingSecrets } from '../../src/journal/secrets.js'
import { servicePackage } from '../../src/proto/load.js'
import { serviceConstructor } from '../../src/service-descriptors.cjs'
import { summarize } from '../../src/journal/journal.js'

const methods = (group: 'cri' | 'containerd', name: string) =>
  methodsCarryingSecrets(name, serviceConstructor(servicePackage(group), name).service)

test('a request type with a credential field or an Any, at any depth, is redacted at once; others are not', () => {
  expect([...methods('cri', 'runtime.v1.ImageService')]).toEqual(['PullImage'])
  expect(methods('cri', 'runtime.v1.RuntimeService').size).toBe(0)
  expect(methods('containerd', 'containerd.services.transfer.v1.Transfer').has('Transfer')).toBe(true)
  // Containers carry their spec as an Any: it could hold anything, so it is summarized at once too.
  expect(methods('containerd', 'containerd.services.containers.v1.Containers').has('Create')).toBe(true)
  expect(methods('containerd', 'containerd.services.version.v1.Version').size).toBe(0)
})

test("an Any's value is kept as its length only: Transfer's OCIRegistry carries Authorization headers", () => {
  const value = Buffer.from('\n\x0fdocker.io/x:1.0\x12\x1d\n\x1bAuthorization: Bearer s3cret')
  const { value: summary } = summarize({ source: { type_url: 'containerd.types.transfer.OCIRegistry', value } })
  expect(summary).toEqual({
    source: { type_url: 'containerd.types.transfer.OCIRegistry', value: { cutBytes: value.length, head: Buffer.alloc(0) } },
  })
  expect(JSON.stringify(summary)).not.toMatch(/s3cret/)
})
