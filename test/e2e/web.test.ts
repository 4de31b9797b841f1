// The live web view (--web) in a real browser: Debian's Chromium, driven by playwright-core. The
// page is opened once and never reloaded; what clients do over CRI must show up on it, its fault
// buttons must change what the next CRI call gets, and a client's strings must render as text.
// Skipped when /usr/bin/chromium is missing (apt-get install chromium), except in CI, where .ci/run
// installs it and its absence fails.
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { containerConfig, grpcError, harness, podConfig, runContainer, runPod, type Harness } from '../helpers.js'

const CHROMIUM = '/usr/bin/chromium'
const HAVE_CHROMIUM = existsSync(CHROMIUM)
const SCREENSHOT = join(import.meta.dirname, '..', '..', '.ci', 'out', 'web.png')
const WAIT = { timeout: 10_000 }

test.runIf(process.env.CI && !HAVE_CHROMIUM)('CI has Chromium for the web view test', () => {
  throw new Error(`${CHROMIUM} is missing: .ci/run installs the chromium package`)
})

describe.runIf(HAVE_CHROMIUM)('the web view in Chromium', () => {
  let h: Harness
  let browser: Browser
  let page: Page

  beforeAll(async () => {
    h = await harness({ web: '127.0.0.1:0' })
    // As root (CI's container), Chromium's sandbox cannot start; the page is our own.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(err.message))
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()))
    await page.goto(h.fake.webUrl!)
    await page.locator('#live.on').waitFor(WAIT)
    expect(problems).toEqual([])
    // Set once: were the page reloaded, it would be gone.
    await page.evaluate(() => ((globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true))
  }, 30_000)

  afterAll(async () => {
    await browser?.close()
    await h?.close()
  })

  test('a pod made over CRI appears without a reload, with its container and processes', async () => {
    const config = podConfig('web-demo')
    const podId = await runPod(h, config)
    const row = page.locator(`#pods tr[data-pod-id="${podId}"]`)
    await row.waitFor(WAIT)
    expect(await row.locator('.pod-name').textContent()).toBe('web-demo')
    expect(await row.textContent()).toContain('READY')

    const containerId = await runContainer(h, podId, config, containerConfig('sleeper', { command: ['sleep', '3600'] }))
    const container = page.locator(`#containers tr[data-container-id="${containerId}"]`)
    await container.locator('li', { hasText: 'sleep 3600' }).waitFor(WAIT)
    expect(await container.textContent()).toContain('RUNNING')
    await page.locator('#images td', { hasText: 'busybox' }).first().waitFor(WAIT)
    expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true)
  })

  test('the journal panel shows the calls as they happen', async () => {
    await h.runtime.Version({ version: 'v1' })
    await page.locator('#journal tbody tr', { hasText: 'Version' }).first().waitFor(WAIT)
    const methods = await page.locator('#journal tbody tr td:nth-child(2)').allTextContents()
    expect(methods).toEqual(expect.arrayContaining(['RunPodSandbox', 'PullImage', 'CreateContainer', 'StartContainer', 'Version']))
  })

  test('a pod name that is HTML renders as text, and runs nothing', async () => {
    const name = '<img src=x onerror="window.injected=1">'
    const podId = await runPod(h, podConfig(name))
    const cell = page.locator(`#pods tr[data-pod-id="${podId}"] .pod-name`)
    await cell.waitFor(WAIT)
    expect(await cell.textContent()).toBe(name)
    expect(await page.locator('#pods img').count()).toBe(0)
    expect(await page.evaluate(() => (globalThis as unknown as { injected?: number }).injected)).toBeUndefined()
  })

  test('the Add fault button arms a preset: the next CRI call fails with its code; Clear faults disarms it', async () => {
    await page.selectOption('#preset', 'flaky')
    await page.fill('#preset-args input[data-arg="method"]', 'ListPodSandbox')
    await page.click('#add-fault')
    await page.locator('#faults .fault-rule', { hasText: '"method":"ListPodSandbox"' }).waitFor(WAIT)
    expect(h.fake.faults.list()).toEqual([expect.objectContaining({ method: 'ListPodSandbox', error: 'UNAVAILABLE', times: 1 })])

    const err = await grpcError(h.runtime.ListPodSandbox({}))
    expect(err.code).toBe(14)
    // The failed call, with the fault that fired, in the journal panel.
    const failed = page.locator('#journal tbody tr', { hasText: 'ListPodSandbox' }).first()
    await failed.locator('.status', { hasText: 'UNAVAILABLE' }).waitFor(WAIT)
    expect(await failed.locator('.fault').textContent()).toBe('ListPodSandbox: UNAVAILABLE')

    // A preset the server refuses says why on the page.
    await page.selectOption('#preset', 'slow')
    await page.fill('#preset-args input[data-arg="method"]', 'Version')
    await page.click('#add-fault')
    await page.locator('#message', { hasText: 'the slow preset needs a ms' }).waitFor(WAIT)

    await page.selectOption('#preset', 'hang')
    await page.fill('#preset-args input[data-arg="method"]', 'Status')
    await page.click('#add-fault')
    await page.locator('#faults-n', { hasText: '2' }).waitFor(WAIT)
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true })
    await page.screenshot({ path: SCREENSHOT, fullPage: true })

    await page.click('#clear-faults')
    await page.locator('#faults .empty').waitFor(WAIT)
    expect(h.fake.faults.list()).toEqual([])
    expect((await h.runtime.ListPodSandbox({})).items.length).toBe(2)
  })
})
