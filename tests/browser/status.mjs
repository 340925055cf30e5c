// The status page in headless Chromium, served by the real torwatch binary on a loopback port:
// (a) no list loaded (the only source points at a dead local port), (b) a list loaded from a local file,
// (c) the golden page with traffic tables, and (d) the hourly chart of a generated 24 h log (firewall lines and
// web requests with times over the last 24 hours) against the log's own hourly counts, before and after a restart. Checks visible text, a phone viewport without horizontal page overflow,
// text contrast in light and dark mode, and that the page loads nothing from elsewhere; saves screenshots as
// status-*.png in OUT_DIR.
// Any failed check exits non-zero.

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.TORWATCH_BIN ?? join(root, 'target/debug/torwatch');
const outDir = process.env.OUT_DIR ?? join(root, 'target');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PHONE = { width: 375, height: 667 };
const DESKTOP = { width: 1280, height: 900 };

for (const [what, path] of [['torwatch binary', bin], ['chromium', executablePath]]) {
  if (!existsSync(path)) throw new Error(`${what} not found at ${path}`);
}

/** A loopback port that was free a moment ago. */
function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts torwatch with `sources` (YAML) and `inputs` (YAML, none by default) and waits for /healthz. */
async function startTorwatch(dir, sources, inputs = 'inputs: []\n') {
  const port = await freePort();
  const config = join(dir, 'torwatch.yaml');
  writeFileSync(config, `listen: 127.0.0.1:${port}\nstate_dir: ${join(dir, 'state')}\n${inputs}${sources}`);
  const log = join(dir, 'torwatch.log');
  const child = spawn(bin, ['run', '--config', config], { stdio: ['ignore', 'ignore', openSync(log, 'w')] });
  const base = `http://127.0.0.1:${port}`;
  const stop = () => child.exitCode === null && child.kill('SIGTERM');
  const exited = () =>
    child.exitCode !== null ? Promise.resolve() : new Promise((ok) => child.once('exit', () => ok()));
  const logTail = () => readFileSync(log, 'utf8').split('\n').slice(-20).join('\n');
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(`${base}/healthz`)).ok) return { base, stop, exited, logTail };
    } catch {}
    await sleep(50);
  }
  stop();
  throw new Error(`torwatch did not start:\n${logTail()}`);
}

/** Reloads until `check(page)` holds or 15 s pass. */
async function waitFor(page, url, what, check) {
  for (let i = 0; i < 60; i++) {
    await page.goto(url);
    if (await check(page)) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Text of the cells of the table row whose first cell is `name`. */
async function row(page, table, name) {
  const cells = page.locator(`table:has(caption:text-is("${table}")) tr:has(:first-child:text-is("${name}")) > *`);
  return cells.allInnerTexts();
}

/** The checks every rendering must pass, at desktop and phone size, with screenshots. */
async function common(page, shot) {
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await page.locator('h1').count(), 1, 'one h1');
  assert.equal(await page.locator('meta[http-equiv="refresh"]').getAttribute('content'), '60');
  assert.equal(await page.locator('script, link, img, iframe').count(), 0, 'no scripts or external assets');
  const tables = await page.locator('table').count();
  assert.ok(tables >= 2, 'tables rendered');
  assert.equal(await page.locator('table > caption').count(), tables, 'every table has a caption');
  assert.equal(await page.locator('thead th:not([scope="col"])').count(), 0, 'column headers have a scope');
  await contrast(page);
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(outDir, `status-${shot}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth, `${shot}: page overflows a phone: ${scrollWidth} > ${innerWidth}`);
  const wide = await page.evaluate(() =>
    [...document.querySelectorAll('.scroll')].filter((r) => r.scrollWidth > r.clientWidth).length,
  );
  assert.ok(wide >= 1, `${shot}: wide tables scroll inside their region on a phone`);
  await page.screenshot({ path: join(outDir, `status-${shot}-phone.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await contrast(page);
  await page.screenshot({ path: join(outDir, `status-${shot}-dark.png`), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
}

/** Every text element with its own text has a WCAG contrast ratio of at least 4.5 against its background. */
async function contrast(page) {
  const failures = await page.evaluate(() => {
    const rgb = (s) => (s.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]) =>
      [r, g, b]
        .map((v) => v / 255)
        .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
        .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad = [];
    for (const el of document.body.querySelectorAll('*')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own) continue;
      const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) bad.push(`${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
    }
    return bad;
  });
  assert.deepEqual(failures, [], 'text contrast below 4.5:1');
}

/** Opens a page that may only talk to `origin` (or load files); anything else fails the run. */
async function openPage(context, origin) {
  const page = await context.newPage();
  const foreign = [];
  const consoleErrors = [];
  page.on('request', (r) => {
    const u = r.url();
    if (!(u.startsWith(`${origin}/`) || u.startsWith('file:') || u.startsWith('data:'))) foreign.push(u);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  return { page, foreign, consoleErrors };
}

function done(p, what) {
  assert.deepEqual(p.foreign, [], `${what}: requests outside the page's origin`);
  assert.deepEqual(p.consoleErrors, [], `${what}: console errors`);
}

async function nothingLoaded(context, dir) {
  const dead = await freePort();
  const tw = await startTorwatch(
    dir,
    `sources:\n  - name: bulk\n    type: bulk\n    url: http://127.0.0.1:${dead}/torbulkexitlist\n    interval: 1s\n    timeout: 1s\n`,
  );
  try {
    const p = await openPage(context, tw.base);
    const { page } = p;
    const response = await page.goto(`${tw.base}/`);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-type'], /^text\/html; charset=utf-8/);
    assert.match(response.headers()['content-security-policy'], /default-src 'none'/);
    await waitFor(page, `${tw.base}/`, 'the first failed fetch', async (pg) =>
      (await row(pg, 'Exit list sources', 'bulk')).join(' ').includes('connect'),
    );
    assert.ok(await page.getByText('No exit list loaded yet.').isVisible(), 'banner visible');
    assert.equal(await page.locator('dt:text-is("Exit addresses") + dd').innerText(), 'not loaded');
    const exits = await row(page, 'Published lists', 'tor-exits');
    assert.equal(exits[1], 'not loaded', `tor-exits row: ${exits}`);
    const bulk = await row(page, 'Exit list sources', 'bulk');
    assert.deepEqual([bulk[1], bulk[2]], ['connect_error', 'never'], `bulk never succeeded: ${bulk}`);
    assert.ok(bulk[7].includes('cannot connect'), `error says what failed: ${bulk}`);
    assert.ok(!bulk[7].includes('/torbulkexitlist'), `error leaves the source URL out (it may hold a secret): ${bulk}`);
    assert.ok(await page.getByText('No Tor hits in this window.').isVisible());
    await common(page, 'empty');
    done(p, 'nothing loaded');
    console.log(`ok: nothing loaded (${bulk[1]}: ${bulk[7]})`);
  } catch (e) {
    console.error(`torwatch log:\n${tw.logTail()}`);
    throw e;
  } finally {
    tw.stop();
  }
}

async function loaded(context, dir) {
  const file = join(dir, 'exits.txt');
  const lines = ['# local exit list'];
  for (let i = 0; i < 1200; i++) lines.push(`185.220.${100 + Math.floor(i / 256)}.${i % 256}`);
  for (let i = 0; i < 34; i++) lines.push(`2a0b:f4c2::${(i + 1).toString(16)}`);
  writeFileSync(file, lines.join('\n') + '\n');
  const tw = await startTorwatch(
    dir,
    `sources:\n  - name: local\n    type: plain\n    url: ${file}\n    list: tor-exits\n    interval: 1h\n    min_entries: 1\n`,
  );
  try {
    const p = await openPage(context, tw.base);
    const { page } = p;
    await waitFor(page, `${tw.base}/`, 'the list to load', async (pg) =>
      (await pg.locator('dt:text-is("Exit addresses") + dd').innerText()) !== 'not loaded',
    );
    assert.equal(await page.getByText('No exit list loaded yet.').count(), 0, 'no banner');
    assert.equal(await page.locator('dt:text-is("Exit addresses") + dd').innerText(), '1,234');
    const exits = await row(page, 'Published lists', 'tor-exits');
    assert.deepEqual(exits.slice(1, 5), ['fresh', '1,234', '1,200', '34'], `${exits}`);
    const local = await row(page, 'Exit list sources', 'local');
    assert.deepEqual([local[1], local[4], local[5], local[6]], ['ok', '1,234', 'plain', 'tor-exits'], `${local}`);
    await common(page, 'loaded');
    await page.setViewportSize(DESKTOP);
    await page.click('a:text-is("tor-exits")');
    const body = await page.locator('body').innerText();
    assert.equal(body.trim().split('\n').length, 1234, 'the list link serves the list');
    done(p, 'loaded');
    console.log(`ok: loaded (${exits.join(' | ')})`);
  } catch (e) {
    console.error(`torwatch log:\n${tw.logTail()}`);
    throw e;
  } finally {
    tw.stop();
  }
}

async function golden(context) {
  const p = await openPage(context, 'file://');
  const { page } = p;
  await page.goto(`file://${join(root, 'tests/golden/status/loaded.html')}`);
  assert.equal(await page.locator('dt:text-is("Tor hits") + dd').innerText(), '5,678');
  const top = await row(page, 'Top exits', '185.220.101.1');
  assert.deepEqual(top.slice(0, 4), ['185.220.101.1', 'relay1', 'DE', '1,000'], `${top}`);
  await common(page, 'traffic');
  done(p, 'traffic');
  console.log('ok: traffic tables');
}

/** A log over the last 24 hours: firewall drops and web requests from exits, at random times in each hour, and
 * its counts per hour start (unix seconds) and kind ([firewall, logins, web]). */
function dayOfLogs(exits) {
  const now = Math.floor(Date.now() / 1000);
  const hour = Math.floor(now / 3600);
  const counts = new Map();
  const kernel = [];
  const web = [];
  const pad = (n) => String(n).padStart(2, '0');
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  let seed = 7;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let i = 0; i < 24; i++) {
    const start = (hour - 23 + i) * 3600;
    // A quiet night, a busy afternoon and a surge in one hour.
    const fw = 5 + ((i * 7) % 24) * 3 + (i === 17 ? 400 : 0);
    const requests = i % 5 === 0 ? 0 : 2 + (i % 4);
    const room = Math.max(1, Math.min(3600, now - start));
    const events = [];
    for (let k = 0; k < fw + requests; k++) events.push([start + rand(room), k < fw]);
    events.sort((a, b) => a[0] - b[0]);
    for (const [t, isFw] of events) {
      const d = new Date(t * 1000);
      const src = exits[rand(exits.length)];
      if (isFw) {
        const stamp = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}+00:00`;
        kernel.push(`${stamp} fw1 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=00:00:00:00:00:00 SRC=${src} DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=1 DF PROTO=TCP SPT=40000 DPT=${[22, 443, 3389][rand(3)]} WINDOW=64240 RES=0x00 SYN URGP=0`);
      } else {
        const stamp = `${pad(d.getUTCDate())}/${months[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
        web.push(`${src} - - [${stamp}] "GET /login HTTP/1.1" ${[200, 404, 500][rand(3)]} 153 "-" "curl/8"`);
      }
    }
    counts.set(start, [fw, 0, requests]);
  }
  return { kernel, web, counts };
}

/** The chart's hours as shown: start → [firewall, logins, web], from each hour's data attributes. */
async function chartHours(page) {
  const hours = await page.locator('figure.chart g.hour').evaluateAll((gs) =>
    gs.map((g) => [Number(g.dataset.start), g.dataset.kinds.split(' ').map(Number)]),
  );
  return new Map(hours);
}

async function chart(context, dir) {
  const exits = [];
  for (let i = 1; i <= 40; i++) exits.push(`185.220.101.${i}`);
  writeFileSync(join(dir, 'exits.txt'), exits.join('\n') + '\n');
  const { kernel, web, counts } = dayOfLogs(exits);
  writeFileSync(join(dir, 'kern.log'), kernel.join('\n') + '\n');
  writeFileSync(join(dir, 'access.log'), web.join('\n') + '\n');
  const total = [...counts.values()].reduce((a, k) => a + k[0] + k[2], 0);
  const sources = `sources:\n  - { name: local, type: plain, list: tor-exits, url: ${join(dir, 'exits.txt')}, interval: 1h, min_entries: 1 }\n`;
  const inputs =
    `inputs:\n  - { name: kernel, type: file, paths: ["${join(dir, 'kern.log')}"], start_at: beginning, poll: 100ms }\n` +
    `  - { name: web, type: file, paths: ["${join(dir, 'access.log')}"], start_at: beginning, poll: 100ms }\n`;
  const check = async (page, when) => {
    const shown = await chartHours(page);
    assert.equal(shown.size, 24, `${when}: 24 hours in the chart`);
    let compared = 0;
    for (const [start, kinds] of shown) {
      // An hour that began after the log was written has no lines; one that left the window is not shown.
      const want = counts.get(start) ?? [0, 0, 0];
      assert.deepEqual(kinds, want, `${when}: hour ${new Date(start * 1000).toISOString()}`);
      compared += counts.has(start) ? 1 : 0;
    }
    assert.ok(compared >= 23, `${when}: ${compared} of the log's hours in the chart`);
    // The tooltip of the surge hour and the table give the same numbers.
    const surge = [...counts.entries()].find(([, k]) => k[0] > 400);
    if (surge && shown.has(surge[0])) {
      const title = await page.locator(`g.hour[data-start="${surge[0]}"] > title`).textContent();
      assert.match(title, new RegExp(`: ${(surge[1][0] + surge[1][2]).toLocaleString('en-US')} hits \\(firewall ${surge[1][0]}, logins 0, web ${surge[1][2]}\\)`));
    }
    // Bars are drawn to scale: the tallest hour's bar against the plot height.
    const heights = await page.locator('figure.chart g.hour').evaluateAll((gs) =>
      gs.map((g) => [...g.querySelectorAll('rect')].reduce((a, r) => a + Number(r.getAttribute('height')), 0)),
    );
    const hits = [...shown.values()].map((k) => k[0] + k[1] + k[2]);
    const ratio = Math.max(...heights) / Math.max(...hits);
    hits.forEach((n, i) => assert.ok(Math.abs(heights[i] - n * ratio) < 0.05, `${when}: bar ${i} is to scale`));
    await page.setViewportSize(DESKTOP);
    await page.locator('figure.chart').screenshot({ path: join(outDir, `status-chart-${when}.png`) });
  };
  let tw = await startTorwatch(dir, sources, inputs);
  try {
    const p = await openPage(context, tw.base);
    const { page } = p;
    await waitFor(page, `${tw.base}/`, `${total} Tor hits`, async (pg) =>
      (await pg.locator('dt:text-is("Tor hits") + dd').innerText()) === total.toLocaleString('en-US'),
    );
    await check(page, 'before');
    await common(page, 'chart');
    done(p, 'chart');
    tw.stop();
    await tw.exited();
    tw = await startTorwatch(dir, sources, inputs);
    const q = await openPage(context, tw.base);
    await q.page.goto(`${tw.base}/`);
    assert.equal(await q.page.locator('dt:text-is("Tor hits") + dd').innerText(), total.toLocaleString('en-US'));
    await check(q.page, 'after-restart');
    done(q, 'chart after a restart');
    console.log(`ok: hourly chart of a 24 h log (${total} hits), before and after a restart`);
  } catch (e) {
    console.error(`torwatch log:\n${tw.logTail()}`);
    throw e;
  } finally {
    tw.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'torwatch-browser-'));
const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
  executablePath,
  headless: true,
  chromiumSandbox: false,
  args: [
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
  viewport: DESKTOP,
});
try {
  await nothingLoaded(context, mkdtempSync(join(dir, 'a-')));
  await loaded(context, mkdtempSync(join(dir, 'b-')));
  await golden(context);
  await chart(context, mkdtempSync(join(dir, 'c-')));
} finally {
  await context.close();
}
console.log(`screenshots: ${outDir}/status-*.png`);
