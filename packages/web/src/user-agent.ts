/**
 * A browser's User-Agent header read as people name it: "Firefox 128 on Windows". No
 * dependency: the common browsers and systems in the order their headers must be tried
 * (Edge and Opera also say Chrome, Chrome also says Safari, every iPhone browser says
 * Safari), and the command-line clients that call the API. What it does not know it says
 * so, and the header itself stays in the title of where it is shown.
 */
export interface UserAgentName {
  browser: string | null;
  os: string | null;
}

const major = (ua: string, pattern: RegExp): string | null => pattern.exec(ua)?.[1] ?? null;
const withVersion = (name: string, version: string | null) => (version ? `${name} ${version}` : name);

const BROWSERS: Array<[RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'Edge'],
  [/\b(?:OPR|Opera)\/(\d+)/, 'Opera'],
  [/\bSamsungBrowser\/(\d+)/, 'Samsung Internet'],
  [/\bVivaldi\/(\d+)/, 'Vivaldi'],
  [/\bYaBrowser\/(\d+)/, 'Yandex Browser'],
  [/\b(?:Firefox|FxiOS)\/(\d+)/, 'Firefox'],
  [/\bHeadlessChrome\/(\d+)/, 'Headless Chrome'],
  [/\b(?:Chrome|CriOS)\/(\d+)/, 'Chrome'],
  [/\bVersion\/(\d+)(?:\.\d+)*(?: Mobile\/\S+)? Safari\//, 'Safari'],
  [/\bcurl\/(\d+(?:\.\d+)?)/, 'curl'],
  [/\bWget\/(\d+(?:\.\d+)?)/, 'Wget'],
  [/\bpython-requests\/(\d+(?:\.\d+)?)/, 'Python requests'],
  [/\bGo-http-client\/(\d+(?:\.\d+)?)/, 'Go HTTP client'],
  [/\bPostmanRuntime\/(\d+(?:\.\d+)?)/, 'Postman'],
  [/^(?:node|undici|node-fetch)(?:\/(\d+))?/i, 'Node.js'],
];

function browserOf(ua: string): string | null {
  for (const [pattern, name] of BROWSERS) {
    if (pattern.test(ua)) return withVersion(name, major(ua, pattern) || null);
  }
  // Safari without a Version/ token (a web view): the engine is all there is.
  if (/AppleWebKit\//.test(ua) && /\b(?:iPhone|iPad|Macintosh)\b/.test(ua)) return 'Safari';
  return null;
}

function osOf(ua: string): string | null {
  const ios = /\b(iPhone|iPad|iPod)\b.*? OS (\d+)[_.]/.exec(ua);
  if (ios) return `${ios[1] === 'iPad' ? 'iPadOS' : 'iOS'} ${ios[2]}`;
  const android = /\bAndroid (\d+)/.exec(ua);
  if (android) return `Android ${android[1]}`;
  if (/\bAndroid\b/.test(ua)) return 'Android';
  if (/\bCrOS\b/.test(ua)) return 'ChromeOS';
  const windows = /\bWindows NT (\d+\.\d+)/.exec(ua);
  if (windows) {
    // Windows 11 still says NT 10.0: the header cannot tell them apart.
    const names: Record<string, string> = { '10.0': 'Windows', '6.3': 'Windows 8.1', '6.2': 'Windows 8', '6.1': 'Windows 7' };
    return names[windows[1]!] ?? 'Windows';
  }
  if (/\bWindows\b/.test(ua)) return 'Windows';
  // Safari on macOS froze the version at 10_15_7: the release cannot be told.
  if (/\bMac OS X\b|\bMacintosh\b/.test(ua)) return 'macOS';
  if (/\bUbuntu\b/.test(ua)) return 'Ubuntu';
  if (/\bFedora\b/.test(ua)) return 'Fedora';
  if (/\bLinux\b|\bX11\b/.test(ua)) return 'Linux';
  if (/\bFreeBSD\b/.test(ua)) return 'FreeBSD';
  return null;
}

export function parseUserAgent(ua: string | null | undefined): UserAgentName {
  if (!ua) return { browser: null, os: null };
  return { browser: browserOf(ua), os: osOf(ua) };
}

/** "Firefox 128 on Windows", "curl 8.5", or "Unknown browser" when the header names neither. */
export function describeUserAgent(ua: string | null | undefined): string {
  const { browser, os } = parseUserAgent(ua);
  if (browser && os) return `${browser} on ${os}`;
  if (browser) return browser;
  if (os) return `A browser on ${os}`;
  return 'Unknown browser';
}
