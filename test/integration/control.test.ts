// The control service over the wire: what a harness in another process or language uses.
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { controlClient, type ControlClient } from '../../src/client.js'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, waitForState, type Harness } from '../helpers.js'

let h: Harness
let control: ControlClient
beforeEach(async () => {
  h = await harness()
  control = controlClient(h.fake.address)
})
afterEach(async () => {
  control.close()
  await h.close()
})

describe('fakecontainerd.control.v1.Control', () => {
  test('add, list, reset and restore fault rules', async () => {
    const added = await control.AddFaults({ rules_json: JSON.stringify({ method: 'Version', once: true, error: 'UNAVAILABLE' }) })
    expect(JSON.parse(added.rules_json)).toEqual([{ method: 'Version', once: true, error: 'UNAVAILABLE' }])
    expect((await grpcError(h.runtime.Version({ version: '' }))).code).toBe(14)
    await h.runtime.Version({ version: '' })
    await control.RestoreFaults({})
    expect((await grpcError(h.runtime.Version({ version: '' }))).code).toBe(14)
    await control.ResetFaults({})
    expect(JSON.parse((await control.ListFaults({})).rules_json)).toEqual([])
    const bad = await grpcError(control.AddFaults({ rules_json: JSON.stringify({ method: 'Version' }) }))
    expect([bad.code, bad.details]).toEqual([3, expect.stringContaining('needs an effect')])
    expect((await grpcError(control.AddFaults({ rules_json: '{nope' }))).code).toBe(3)
  })

  test('AddFaults and ResetFaults refuse a bad rule with InvalidArgument and the sentence, and apply none of the batch', async () => {
    await control.AddFaults({ rules_json: JSON.stringify({ method: 'Status', error: 'INTERNAL' }) })
    const rules = (await control.ListFaults({})).rules_json
    const cases: [unknown, string][] = [
      [{ method: 'PulImage', error: 'UNAVAILABLE' }, 'faults[0].method: no RPC is named "PulImage"; did you mean PullImage?'],
      [{ method: 'Version', eror: 'UNAVAILABLE' }, 'faults[0].eror is not a field of a call fault; did you mean error?'],
      [{ method: 'Version', error: 14, match: { labels: { app: 1 } } }, 'faults[0].match.labels.app must be a string, not 1'],
      [{ kind: 'crash', drop: true }, 'faults[0].drop is for call faults; a crash fault has no drop'],
      [
        [
          { method: 'Version', error: 14 },
          { method: 'Version', error: 14, delay: 'fast' },
          { method: 'ListImages', error: 14 },
        ],
        'faults[1].delay must be a number of milliseconds or { min, max }, not "fast"',
      ],
    ]
    for (const [value, message] of cases) {
      for (const call of [control.AddFaults, control.ResetFaults]) {
        const bad = await grpcError(call({ rules_json: JSON.stringify(value) }))
        expect([bad.code, bad.details]).toEqual([3, expect.stringContaining(message)])
      }
    }
    expect((await control.ListFaults({})).rules_json).toBe(rules)
    await h.runtime.Version({ version: '' })
  })

  test('the journal never keeps registry credentials: a PullImage auth shows [redacted], the user name stays', async () => {
    const auth = {
      username: 'ci-bot',
      password: 's3cret-pw',
      auth: Buffer.from('ci-bot:s3cret-pw').toString('base64'),
      identity_token: 'id-tok',
    }
    await h.image.PullImage({ image: { image: 'busybox:1.36' }, auth })
    const text = (await control.GetJournal({ method: 'PullImage' })).entries_json
    expect(text).not.toMatch(/s3cret|id-tok|Y2ktYm90/)
    expect(JSON.parse(text)[0].request.auth).toMatchObject({
      username: 'ci-bot',
      password: '[redacted]',
      auth: '[redacted]',
      identity_token: '[redacted]',
      registry_token: '',
    })
    expect(JSON.stringify(h.fake.calls('PullImage'))).not.toMatch(/s3cret|id-tok/)
  })

  test('the journal: read with filters, clear; control calls themselves are not journaled', async () => {
    await h.runtime.Version({ version: '' })
    await runPod(h, podConfig('journaled'))
    const all = JSON.parse((await control.GetJournal({})).entries_json) as { method: string; status: { code: number } }[]
    expect(all.map((e) => e.method)).toEqual(['Version', 'RunPodSandbox'])
    const runs = JSON.parse((await control.GetJournal({ method: 'RunPodSandbox' })).entries_json)
    expect(runs[0].request.config.metadata.name).toBe('journaled')
    expect(JSON.parse((await control.GetJournal({ has_code: true, code: 5 })).entries_json)).toEqual([])
    const { last } = await control.GetJournal({})
    await h.runtime.Status({ verbose: false })
    expect(JSON.parse((await control.GetJournal({ since: last })).entries_json).map((e: { method: string }) => e.method)).toEqual([
      'Status',
    ])
    await control.ClearJournal({})
    expect(JSON.parse((await control.GetJournal({})).entries_json)).toEqual([])
  })

  test('a journal query names served RPCs as a fault rule does: globs and short service names, a misspelling refused', async () => {
    await h.runtime.Version({ version: '' })
    await h.image.ListImages({ filter: null })
    const methods = async (req: { service?: string; method?: string }) =>
      (JSON.parse((await control.GetJournal(req)).entries_json) as { method: string }[]).map((e) => e.method)
    expect(await methods({ method: 'List*' })).toEqual(['ListImages'])
    expect(await methods({ service: 'runtime.v1.ImageService' })).toEqual(['ListImages'])
    expect(await methods({ service: '*ImageService', method: 'ListImages' })).toEqual(['ListImages'])
    expect(await methods({ service: 'RuntimeService' })).toEqual(['Version'])
    for (const [req, message] of [
      [{ method: 'RunPodSandbx' }, 'journal query: method: no RPC is named "RunPodSandbx"; did you mean RunPodSandbox?'],
      [{ service: 'RuntimeServce' }, 'journal query: service: no service is named "RuntimeServce"; did you mean RuntimeService?'],
      [{ service: 'ImageService', method: 'Version' }, 'journal query: method: ImageService has no RPC named "Version"; it is an RPC of'],
    ] as const) {
      const bad = await grpcError(control.GetJournal(req))
      expect([bad.code, bad.details]).toEqual([3, expect.stringContaining(message)])
    }
  })

  test('reset, snapshot and restore the node', async () => {
    const config = podConfig('kept')
    const pod = await runPod(h, config)
    const { state_json } = await control.SnapshotState({})
    await control.ResetState({})
    expect((await h.runtime.ListPodSandbox({ filter: null })).items).toEqual([])
    await control.RestoreState({ state_json })
    expect((await h.runtime.ListPodSandbox({ filter: null })).items.map((p) => p.id)).toEqual([pod])
    const bad = await grpcError(control.RestoreState({ state_json: JSON.stringify({ version: 99 }) }))
    expect(bad.code).toBe(3)
    expect(bad.details).toMatch(/schema version 99/)
    // The node is still there, its pause process still running.
    expect((await h.runtime.ListPodSandbox({ filter: null })).items).toHaveLength(1)
    expect(h.fake.node.tasks.process(pod)?.running).toBe(true)
  })

  test('freeze and advance the clock', async () => {
    const config = podConfig('clock')
    const pod = await runPod(h, config)
    await control.FreezeClock({ frozen: true })
    const id = await runContainer(h, pod, config, containerConfig('nap', { command: ['sleep', '600'] }))
    const { now_ms } = await control.AdvanceClock({ milliseconds: 600_000 })
    expect(Number(now_ms)).toBeGreaterThan(Date.now())
    expect(await waitForState(h, id, 'CONTAINER_EXITED')).toMatchObject({ exit_code: 0, reason: 'Completed' })
    await control.FreezeClock({ frozen: false })
  })

  test('faults never apply to the control service itself', async () => {
    h.fake.faults.use({ method: '*', error: 'UNAVAILABLE' })
    expect(JSON.parse((await control.ListFaults({})).rules_json)).toHaveLength(1)
    expect((await grpcError(h.runtime.Version({ version: '' }))).code).toBe(14)
    await control.ResetFaults({})
    await h.runtime.Version({ version: '' })
  })
})
