/**
 * Headless Debian Chromium (/usr/bin/chromium) driven by playwright-core; never a downloaded
 * browser build. Playwright gives each launch a fresh temporary profile (--user-data-dir). The flags
 * keep Chromium off the network it does not have.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['SMS_RECONCILE_CHROMIUM'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

/** Whether Chromium is installed (CI installs it; elsewhere the browser tests skip). */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}
