// The status page's logins from Tor in headless Chromium, as a person sees it: the page of a running torwatch (its
// URL in STATUS_URL) must show the expected login counts (EXPECT, JSON: {"total": N, "succeeded": M, "rows":
// {"ssh": [failed, succeeded, no outcome], ...}}) in the summary card and in the "Tor exits trying to log in"
// table, the successful ones set apart. Saves status-logins.png in OUT_DIR. Run by tests/e2e/logins.sh; any failed
// check exits non-zero.

import { chromium } from 'playwright-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';

const url = process.env.STATUS_URL;
const expect = JSON.parse(process.env.EXPECT ?? 'null');
const outDir = process.env.OUT_DIR ?? tmpdir();
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!url || !expect) throw new Error('STATUS_URL and EXPECT must be set');

/** `1,234` → 1234. */
const number = (text) => Number(text.replace(/[^0-9]/g, ''));

const dir = mkdtempSync(join(tmpdir(), 'torwatch-logins-'));
const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
  executablePath,
  headless: true,
  chromiumSandbox: false,
  args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
try {
  const page = await context.newPage();
  const response = await page.goto(url, { waitUntil: 'load' });
  assert.equal(response.status(), 200);

  // The summary card: all attempts, and the successful ones in a warning.
  const card = page.locator('dl.cards > div', { has: page.locator('dt', { hasText: 'Logins from Tor' }) });
  const cardText = (await card.locator('dd').innerText()).trim();
  assert.equal(number(cardText.split('(')[0]), expect.total, `card: ${cardText}`);
  const warning = card.locator('dd strong.bad');
  if (expect.succeeded > 0) {
    assert.equal(number(await warning.innerText()), expect.succeeded, `card: ${cardText}`);
    assert.ok(await warning.isVisible());
  } else {
    assert.equal(await warning.count(), 0);
  }

  // The table, one row per service, as read off the page.
  const table = page.locator('table', { has: page.locator('caption', { hasText: 'Tor exits trying to log in' }) });
  assert.ok(await table.isVisible(), 'the logins table is shown');
  const rows = {};
  for (const tr of await table.locator('tbody tr').all()) {
    const cells = await tr.locator('td').allInnerTexts();
    rows[cells[0].trim()] = cells.slice(1).map(number);
  }
  assert.deepEqual(rows, expect.rows);
  // A successful login from Tor stands out (its cell holds the warning style).
  for (const [service, [, succeeded]] of Object.entries(expect.rows)) {
    const cell = table.locator('tbody tr', { has: page.locator('td', { hasText: new RegExp(`^${service}$`) }) })
      .locator('td').nth(2);
    assert.equal(await cell.locator('strong.bad').count(), succeeded > 0 ? 1 : 0, `${service} succeeded cell`);
  }
  await table.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(outDir, 'status-logins.png'), fullPage: true });
  console.log(`status page logins: card "${cardText}", rows ${JSON.stringify(rows)}`);
} finally {
  await context.close();
}
