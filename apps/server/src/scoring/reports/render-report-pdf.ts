/** Options of `renderReportPdf`; the defaults fit the Debian `chromium` package. */
export interface PdfOptions {
  executablePath?: string;
  /** Upper bound for launching, loading and printing, each. */
  timeoutMs?: number;
}

/** Turns the report's HTML into PDF bytes (the worker's job and the on-demand route use it). */
export type PdfRenderer = (html: string) => Promise<Buffer>;

// Headless in a container: no sandbox (no user namespaces), no GPU, and nothing that phones home.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Prints a self-contained HTML page (`renderReportHtml`) to an A4 PDF with headless Chromium
 * through `playwright-core`. One browser per call: reports are rare and a crashed browser then
 * never outlives its job. Scripts are off and every network request is refused, so the page prints
 * exactly what the HTML holds.
 */
export async function renderReportPdf(html: string, options: PdfOptions = {}): Promise<Buffer> {
  const timeout = options.timeoutMs ?? 60_000;
  // Loaded on first use: the server's other roles never need a browser.
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: options.executablePath ?? '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout,
  });
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    await context.route('**/*', (route) => route.abort());
    const page = await context.newPage();
    page.setDefaultTimeout(timeout);
    await page.setContent(html, { waitUntil: 'load' });
    await page.emulateMedia({ media: 'print' });
    return await page.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
  } finally {
    await browser.close();
  }
}
