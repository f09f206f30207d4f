// Manual end-to-end check of the dashboard: runs JSON steps in headless Chromium over the DevTools protocol.
// node --experimental-websocket scripts/cdp-steps.mjs http://127.0.0.1:8799 /tmp/shots '[{"nav":"/sign-in"},{"set":["#token","mp_..."],"submit":"form","expect":["admin"],"shot":"list"}]'
// Steps: nav, set [selector, value], submit selector, click [selector, text], back, sh, wait, expect (text or !text), shot, fullshot.
import { execSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [base, outDir, stepsJson] = process.argv.slice(2);
const steps = JSON.parse(stepsJson);
const port = 9340;
const chrome = spawn('/usr/bin/chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chr-'))}`, `--remote-debugging-port=${port}`, 'about:blank'], { stdio: 'ignore' });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let failures = 0;
try {
  let targets;
  for (let i = 0; i < 50 && targets === undefined; i++) {
    try { targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json(); } catch { await sleep(200); }
  }
  const ws = new WebSocket(targets.find((t) => t.type === 'page').webSocketDebuggerUrl);
  await new Promise((r) => ws.addEventListener('open', r));
  let id = 0;
  const pending = new Map();
  const problems = [];
  ws.addEventListener('message', (event) => {
    const msg = JSON.parse(event.data);
    if (msg.id !== undefined && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); }
    if (msg.method === 'Log.entryAdded' && msg.params.entry.level === 'error') problems.push(`LOG ${msg.params.entry.text}`);
    if (msg.method === 'Runtime.consoleAPICalled' && msg.params.type === 'error') problems.push(`console.error ${msg.params.args.map((a) => a.value ?? a.description).join(' ')}`);
    if (msg.method === 'Runtime.exceptionThrown') problems.push(`EXCEPTION ${msg.params.exceptionDetails.exception?.description ?? msg.params.exceptionDetails.text}`);
  });
  const send = (method, params = {}) => new Promise((resolve) => { const n = ++id; pending.set(n, resolve); ws.send(JSON.stringify({ id: n, method, params })); });
  const evaluate = async (expression) => (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })).result?.result?.value;
  await send('Page.enable');
  await send('Runtime.enable');
  await send('Log.enable');
  await send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: outDir, eventsEnabled: true });
  await send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
  for (const step of steps) {
    if (Object.keys(step).every((k) => k === 'wait' || k === 'expect' || k === 'shot')) await sleep(step.wait ?? 0);
    if (step.sh) console.log('sh:', execSync(step.sh).toString().slice(0, 120));
    if (step.nav) { await send('Page.navigate', { url: `${base}${step.nav}` }); await sleep(step.wait ?? 1500); }
    if (step.set) {
      await evaluate(`(() => { const el = document.querySelector(${JSON.stringify(step.set[0])}); Object.getOwnPropertyDescriptor(el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype, 'value').set.call(el, ${JSON.stringify(step.set[1])}); el.dispatchEvent(new Event('input', { bubbles: true })); })()`);
    }
    if (step.submit) { await evaluate(`document.querySelector(${JSON.stringify(step.submit)}).requestSubmit()`); await sleep(step.wait ?? 2000); }
    if (step.click) {
      const ok = await evaluate(`(() => { const el = [...document.querySelectorAll(${JSON.stringify(step.click[0])})].find((e) => e.textContent.includes(${JSON.stringify(step.click[1] ?? '')})); if (!el) return false; el.click(); return true; })()`);
      if (!ok) { failures++; console.log('FAIL click not found', step.click); }
      await sleep(step.wait ?? 1500);
    }
    if (step.back) { await evaluate('history.back()'); await sleep(step.wait ?? 1500); }
    if (step.expect) {
      const text = `${await evaluate('location.pathname + location.search')}\n${await evaluate('document.body.innerText')}`;
      for (const want of [step.expect].flat()) {
        const negate = want.startsWith('!');
        const needle = negate ? want.slice(1) : want;
        const ok = text.includes(needle) !== negate;
        if (!ok) failures++;
        console.log(ok ? 'ok  ' : 'FAIL', want);
      }
    }
    if (step.fullshot) {
      const h = await evaluate('Math.min(document.documentElement.scrollHeight, 5000)');
      await send('Emulation.setDeviceMetricsOverride', { width: 1280, height: h, deviceScaleFactor: 1, mobile: false });
      await sleep(300);
      writeFileSync(join(outDir, `${step.fullshot}.png`), Buffer.from((await send('Page.captureScreenshot', { format: 'png' })).result.data, 'base64'));
      await send('Emulation.setDeviceMetricsOverride', { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
    }
    if (step.shot) writeFileSync(join(outDir, `${step.shot}.png`), Buffer.from((await send('Page.captureScreenshot', { format: 'png' })).result.data, 'base64'));
  }
  console.log(problems.join('\n') || 'no page exceptions');
  ws.close();
} finally {
  chrome.kill('SIGTERM');
}
console.log(failures === 0 ? 'ALL STEPS PASSED' : `${failures} FAILED`);
process.exitCode = failures === 0 ? 0 : 1;
