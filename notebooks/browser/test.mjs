// Runs every notebook in a real browser, as a reader would: Jupyter Notebook with the GoNB kernel, Debian's Chromium
// (headless) driven by puppeteer-core, "Run All" on each notebook; then, on notebook 04, moves the norm slider three
// times quickly and checks that exactly one view appears under it, updated in place, for the last value, within
// the time limit; then presses Stop, which must end the cell. Prints what it measured; exits non-zero on a failure.
//
//   npm install --prefix notebooks/browser && node notebooks/browser/test.mjs [notebook ...]
//
// Nothing is saved: autosave is switched off in every page, so the repository's notebooks are not modified.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
const cellLimitMs = 10 * 60 * 1000;
const sliderLimitMs = Number(process.env.COTRAIN_SLIDER_LIMIT_MS || 1000);
const port = 20000 + Math.floor(Math.random() * 20000);
const token = randomBytes(16).toString('hex');
const failures = [];
const fail = (msg) => { failures.push(msg); console.log('FAIL ' + msg); };

const notebooks = process.argv.length > 2 ? process.argv.slice(2).map((n) => path.basename(n))
  : readdirSync(path.join(repo, 'notebooks')).filter((n) => n.endsWith('.ipynb')).sort();

const jupyter = spawn('jupyter', ['notebook', '--no-browser', '--ip=127.0.0.1', `--port=${port}`,
  `--NotebookApp.token=${token}`, '--allow-root', `--notebook-dir=${repo}`], { stdio: 'ignore', detached: true });
const stopJupyter = () => { try { process.kill(-jupyter.pid, 'SIGTERM'); } catch { /* gone */ } };
process.on('exit', stopJupyter);

async function waitForServer() {
  for (let i = 0; i < 120; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/api?token=${token}`);
      if (r.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('Jupyter did not start');
}

// cellsDone is true when every code cell has run (except the last when it holds the slider: it runs until Stop).
function cellsDone(allowLastRunning) {
  const cells = Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code');
  return cells.every((c, i) => {
    const p = c.input_prompt_number;
    if (allowLastRunning && i === cells.length - 1) {
      return p === '*' && c.output_area.element[0].querySelector('input[type=range]') !== null;
    }
    return p !== '*' && p !== null && p !== undefined;
  });
}

async function runNotebook(browser, name) {
  const page = await browser.newPage();
  page.setDefaultTimeout(cellLimitMs);
  await page.goto(`http://127.0.0.1:${port}/notebooks/notebooks/${name}?token=${token}`);
  await page.waitForFunction(() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel &&
    Jupyter.notebook.kernel.is_connected(), { timeout: 120000 });
  const hasSlider = await page.evaluate(() => {
    Jupyter.notebook.set_autosave_interval(0);
    return Jupyter.notebook.get_cells().some((c) => c.get_text().includes('nb.Explore('));
  });
  const start = Date.now();
  await page.evaluate(() => { Jupyter.notebook.clear_all_output(); Jupyter.notebook.execute_all_cells(); });
  await page.waitForFunction(cellsDone, { timeout: cellLimitMs, polling: 500 }, hasSlider);
  const seconds = (Date.now() - start) / 1000;
  const errors = await page.evaluate(() => [...document.querySelectorAll('.output_error, .output_stderr')]
    .map((e) => e.innerText).filter((t) => /error|panic|fail/i.test(t)));
  // How the figures are shown: the smallest scale at which a figure appears (Jupyter fits wide images to the output
  // area; pkg/figures sizes text for a display width of 960 px).
  const [images, scale, widest] = await page.evaluate(() => {
    const imgs = [...document.querySelectorAll('.output_png img, .output_html img')].filter((i) => i.naturalWidth > 0);
    const scale = Math.min(1, ...imgs.map((i) => i.clientWidth / i.naturalWidth));
    return [imgs.length, scale, Math.max(0, ...imgs.map((i) => i.clientWidth))];
  });
  console.log(`${name}: Run All ${hasSlider ? '(all cells but the slider) ' : ''}in ${seconds.toFixed(1)} s, ${images} ` +
    `images, shown at ≥ ${(100 * scale).toFixed(0)} % of their size (widest ${widest} px)`);
  if (errors.length > 0) fail(`${name}: ${errors.length} cells show errors: ${errors[0].slice(0, 300)}`);
  if (images === 0) fail(`${name}: no figure`);
  if (hasSlider) await sliderTest(page, name);
  await page.close();
}

// sliderTest moves the slider three times quickly and expects one view, for the last value, in place, in time.
async function sliderTest(page, name) {
  const values = await page.evaluate(() => {
    const r = document.querySelector('input[type=range]');
    return [Number(r.min), Number(r.max), Number(r.value)];
  });
  const targets = [values[2] + 4, values[2] + 9, values[2] + 14].map((v) => Math.min(v, values[1]));
  const last = targets[targets.length - 1];
  const moved = Date.now();
  for (const v of targets) {
    await page.evaluate((val) => {
      const r = document.querySelector('input[type=range]');
      r.value = String(val);
      r.dispatchEvent(new Event('input', { bubbles: true }));
    }, v);
    await new Promise((r) => setTimeout(r, 50));
  }
  const expect = `norm ${last / 2}`;
  try {
    await page.waitForFunction((want) => {
      const views = document.querySelectorAll('.cotrain-explore');
      return views.length === 1 && views[0].innerText.includes(want);
    }, { timeout: 30000, polling: 20 }, expect);
  } catch {
    const seen = await page.evaluate(() => [...document.querySelectorAll('.cotrain-explore')].map((v) => v.innerText.split('\n')[0]));
    fail(`${name}: after three moves, the views under the slider are ${JSON.stringify(seen)}, want one with "${expect}"`);
    return;
  }
  const ms = Date.now() - moved;
  const views = await page.evaluate(() => document.querySelectorAll('.cotrain-explore').length);
  const report = await page.evaluate(() => document.querySelector('.cotrain-explore p').innerText);
  console.log(`${name}: slider moved 3 times in 150 ms; ${views} view under it, for the last value, ${ms} ms after the ` +
    `first move (${report})`);
  if (ms > sliderLimitMs + 150) fail(`${name}: the slider's view took ${ms} ms (limit ${sliderLimitMs} ms after the last move)`);
  // Stop ends the cell.
  await page.evaluate(() => [...document.querySelectorAll('button')].find((b) => b.innerText.trim() === 'Stop').click());
  try {
    await page.waitForFunction(() => {
      const cells = Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code');
      return cells[cells.length - 1].input_prompt_number !== '*' && Jupyter.notebook.kernel_busy === false;
    }, { timeout: 60000, polling: 200 });
    console.log(`${name}: Stop ended the slider's cell`);
  } catch {
    fail(`${name}: Stop did not end the slider's cell`);
  }
}

try {
  await waitForServer();
  // A laptop's window: Jupyter's output area is then about 1,000 px wide.
  const browser = await puppeteer.launch({ executablePath: chromium, headless: true, defaultViewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  for (const name of notebooks) {
    try {
      await runNotebook(browser, name);
    } catch (e) {
      fail(`${name}: ${e.message}`);
    }
  }
  await browser.close();
} catch (e) {
  fail(e.message);
}
stopJupyter();
console.log(failures.length === 0 ? 'browser test: ok' : `browser test: ${failures.length} failures`);
process.exit(failures.length === 0 ? 0 : 1);
