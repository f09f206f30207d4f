import type { FileFormat, FileType } from '@malpipe/core';

/** How much text is decoded and scored; scripts announce themselves early. */
const TEXT_SAMPLE_BYTES = 256 * 1024;

export interface DecodedText {
  readonly text: string;
  readonly encoding: 'ascii' | 'utf-8' | 'utf-16le' | 'utf-16be';
  readonly bom: boolean;
}

function isMostlyPrintable(text: string): boolean {
  if (text.length === 0) return false;
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // TAB, LF, VT, FF, CR and ESC occur in real text; other C0 controls and U+FFFD mean binary.
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 11 && c !== 12 && c !== 13 && c !== 27) || c === 0xfffd || c === 0x7f) control++;
  }
  return control <= text.length * 0.01;
}

/** UTF-16 without a BOM: one byte of each pair is almost always zero for Latin text. */
function guessUtf16(sample: Uint8Array): 'utf-16le' | 'utf-16be' | null {
  const pairs = Math.floor(sample.length / 2);
  if (pairs < 4) return null;
  let zeroOdd = 0;
  let zeroEven = 0;
  for (let i = 0; i < pairs * 2; i += 2) {
    if (sample[i] === 0) zeroEven++;
    if (sample[i + 1] === 0) zeroOdd++;
  }
  if (zeroOdd >= pairs * 0.9 && zeroEven <= pairs * 0.05) return 'utf-16le';
  if (zeroEven >= pairs * 0.9 && zeroOdd <= pairs * 0.05) return 'utf-16be';
  return null;
}

/** Decodes the start of `bytes` as text, or returns null when it does not look like text. */
export function decodeText(bytes: Uint8Array): DecodedText | null {
  const sample = bytes.subarray(0, TEXT_SAMPLE_BYTES);
  const truncated = bytes.length > sample.length;
  let encoding: DecodedText['encoding'];
  let body: Uint8Array;
  let bom = true;
  if (sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf) {
    encoding = 'utf-8';
    body = sample.subarray(3);
  } else if (sample[0] === 0xff && sample[1] === 0xfe) {
    encoding = 'utf-16le';
    body = sample.subarray(2);
  } else if (sample[0] === 0xfe && sample[1] === 0xff) {
    encoding = 'utf-16be';
    body = sample.subarray(2);
  } else {
    bom = false;
    body = sample;
    const utf16 = guessUtf16(sample);
    encoding = utf16 ?? 'utf-8';
  }
  if (encoding === 'utf-16le' || encoding === 'utf-16be') body = body.subarray(0, body.length & ~1);
  if (encoding === 'utf-8') {
    if (body.includes(0)) return null;
    // Do not fail on a multi-byte sequence cut by the sample boundary.
    if (truncated) body = trimPartialUtf8(body);
  }
  let text: string;
  try {
    text = new TextDecoder(encoding, { fatal: true }).decode(body);
  } catch {
    return null;
  }
  if (!isMostlyPrintable(text)) return null;
  if (encoding === 'utf-8' && !bom && isAscii(body)) encoding = 'ascii';
  return { text, encoding, bom };
}

function isAscii(body: Uint8Array): boolean {
  for (const b of body) if (b > 0x7f) return false;
  return true;
}

function trimPartialUtf8(body: Uint8Array): Uint8Array {
  const end = body.length;
  for (let back = 1; back <= 3 && end - back >= 0; back++) {
    const b = body[end - back] as number;
    if ((b & 0xc0) === 0xc0) return body.subarray(0, end - back);
    if ((b & 0x80) === 0) break;
  }
  return body;
}

interface ScriptRule {
  readonly format: Exclude<FileFormat, 'html'>;
  readonly mime: string;
  readonly label: string;
  readonly extensions: readonly string[];
  readonly patterns: readonly RegExp[];
}

// Each pattern that matches adds one point. Patterns are chosen to be specific to one language.
const SCRIPT_RULES: readonly ScriptRule[] = [
  {
    format: 'powershell',
    mime: 'text/x-powershell',
    label: 'PowerShell script',
    extensions: ['ps1', 'psm1', 'psd1'],
    patterns: [
      /\b(?:Invoke-Expression|Invoke-WebRequest|Invoke-RestMethod|Start-Process|New-Object|Set-StrictMode|Write-Host|Write-Output|Get-ChildItem|Get-Item|Set-ItemProperty|Add-Type|Out-Null|Test-Path)\b/i,
      /\$env:\w+/i,
      /\[(?:System\.)?(?:Convert|Text\.Encoding|Reflection\.Assembly|IO\.\w+|Net\.\w+|Runtime\.InteropServices\.\w+)\]::/i,
      /\$\w+\s*=\s*[^=\n]/,
      /\bparam\s*\(\s*\[/i,
      /\b(?:iex|FromBase64String)\s*\(/i,
      /-(?:EncodedCommand|ExecutionPolicy|WindowStyle|NoProfile)\b/i,
      /\$(?:PSVersionTable|PSScriptRoot|null|true|false)\b/i,
      /\|\s*(?:ForEach-Object|Where-Object|Select-Object|%|\?)\s*\{/i,
    ],
  },
  {
    format: 'vbscript',
    mime: 'text/vbscript',
    label: 'VBScript',
    extensions: ['vbs', 'vbe', 'vba', 'bas'],
    patterns: [
      /^[ \t]*Dim\s+\w+/im,
      /\bCreateObject\s*\(\s*"/i,
      /\bWScript\.(?:Shell|Echo|Sleep|Quit|ScriptFullName|Arguments)\b/i,
      /^[ \t]*(?:Private\s+|Public\s+)?(?:Sub|Function)\s+\w+/im,
      /^[ \t]*End\s+(?:Sub|Function|If|With)\b/im,
      /\bOn\s+Error\s+Resume\s+Next\b/i,
      /^[ \t]*Set\s+\w+\s*=/im,
      /\b(?:Chr|ChrW|Asc|Mid|StrReverse)\s*\(/i,
      /^[ \t]*'/m,
    ],
  },
  {
    format: 'javascript',
    mime: 'text/javascript',
    label: 'JavaScript',
    extensions: ['js', 'jse', 'mjs', 'cjs'],
    patterns: [
      /\bfunction\s*\w*\s*\([^)]{0,200}\)\s*\{/,
      /\b(?:var|let|const)\s+[\w$]+\s*=/,
      /=>\s*[{(\w]/,
      /\b(?:document|window|console)\.\w+/,
      /\bnew\s+ActiveXObject\s*\(/i,
      /\bWScript\.CreateObject\s*\(/i,
      /\b(?:eval|unescape|String\.fromCharCode|atob)\s*\(/,
      /\brequire\s*\(\s*['"]/,
      /\breturn\b[^;\n]{0,200};/,
      /\}\s*\)\s*\(\s*\)\s*;?/,
    ],
  },
  {
    format: 'batch',
    mime: 'application/x-bat',
    label: 'DOS batch file',
    extensions: ['bat', 'cmd'],
    patterns: [
      /^[ \t]*@?echo\s+(?:off|on)\b/im,
      /^[ \t]*set\s+(?:\/[ap]\s+)?\w+=/im,
      /^[ \t]*(?:goto|call)\s+:?\w+/im,
      /^[ \t]*:\w+[ \t]*\r?$/m,
      /^[ \t]*rem\b/im,
      /%~?d?p?0|%\w+%/i,
      /\bif\s+(?:not\s+)?(?:exist|errorlevel|defined)\b/i,
      /\b(?:cmd(?:\.exe)?\s+\/[ck]|start\s+""|reg\s+add|schtasks\s+\/create|timeout\s+\/t)\b/i,
    ],
  },
  {
    format: 'python',
    mime: 'text/x-python',
    label: 'Python script',
    extensions: ['py', 'pyw'],
    patterns: [
      /^[ \t]*import\s+[\w.]+(?:\s+as\s+\w+)?[ \t]*\r?$/m,
      /^[ \t]*from\s+[\w.]+\s+import\s+/m,
      /^[ \t]*def\s+\w+\s*\([^)]{0,200}\)\s*(?:->\s*[\w[\], .]+)?:/m,
      /^[ \t]*class\s+\w+(?:\([^)]{0,200}\))?\s*:/m,
      /\bif\s+__name__\s*==\s*['"]__main__['"]/,
      /\bself\.\w+/,
      /\bprint\s*\(/,
      /^[ \t]*(?:elif\b|except\b|try:|finally:)/m,
    ],
  },
  {
    format: 'shell',
    mime: 'text/x-shellscript',
    label: 'shell script',
    extensions: ['sh', 'bash', 'zsh', 'ksh'],
    patterns: [
      /^[ \t]*(?:if|while|until)\s+\[\[?\s/m,
      /^[ \t]*(?:fi|done|esac)[ \t]*\r?$/m,
      /^[ \t]*(?:then|do)[ \t]*\r?$/m,
      /^[ \t]*export\s+\w+=/m,
      /\$\([ \t]*[\w-]+[^)\n]{0,200}\)/,
      /\b(?:chmod\s+\+x|wget\s+-|curl\s+-|\/dev\/null|nohup\s)/,
      /^[ \t]*\w+\s*\(\)\s*\{/m,
    ],
  },
];

const SHEBANGS: readonly (readonly [RegExp, ScriptRule['format']])[] = [
  [/python/, 'python'],
  [/\b(?:node|deno|bun)\b/, 'javascript'],
  [/\bpwsh\b|powershell/i, 'powershell'],
  [/\b(?:sh|bash|dash|zsh|ksh|ash|busybox)\b/, 'shell'],
];

const HTML_START = /^\s*(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html|head|body|script|iframe|meta|title|hta:application)\b/i;

function extensionOf(fileName: string | undefined): string | null {
  if (fileName === undefined) return null;
  const base = fileName.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : null;
}

function ruleFor(format: ScriptRule['format']): ScriptRule {
  const rule = SCRIPT_RULES.find((r) => r.format === format);
  if (rule === undefined) throw new RangeError(`no script rule for ${format}`);
  return rule;
}

function scriptType(rule: ScriptRule, decoded: DecodedText, traits: readonly string[]): FileType {
  return { kind: 'script', format: rule.format, mime: rule.mime, description: `${rule.label}, ${decoded.encoding} text`, traits: [decoded.encoding, ...traits] };
}

/**
 * Classifies decoded text: shebang, HTML, then the script language with the most distinctive patterns
 * (at least two). The file name's extension only breaks ties between equally scored languages.
 */
export function classifyText(decoded: DecodedText, fileName?: string): FileType {
  const { text } = decoded;
  const encodingTraits = decoded.bom ? ['bom'] : [];
  const shebang = /^#!\s*(\S+)(?:[ \t]+(\S+))?/.exec(text);
  if (shebang) {
    const interpreter = `${shebang[1] ?? ''} ${shebang[2] ?? ''}`;
    const match = SHEBANGS.find(([pattern]) => pattern.test(interpreter));
    const rule = ruleFor(match?.[1] ?? 'shell');
    return scriptType(rule, decoded, [...encodingTraits, 'shebang']);
  }
  if (HTML_START.test(text.slice(0, 4096))) {
    return { kind: 'script', format: 'html', mime: 'text/html', description: `HTML document, ${decoded.encoding} text`, traits: [decoded.encoding, ...encodingTraits] };
  }
  const extension = extensionOf(fileName);
  let best: ScriptRule | null = null;
  let bestScore = 0;
  for (const rule of SCRIPT_RULES) {
    let score = rule.patterns.reduce((sum, pattern) => sum + (pattern.test(text) ? 1 : 0), 0);
    if (score >= 2 && extension !== null && rule.extensions.includes(extension)) score += 0.5;
    if (score > bestScore) {
      best = rule;
      bestScore = score;
    }
  }
  if (best !== null && bestScore >= 2) return scriptType(best, decoded, encodingTraits);
  return {
    kind: 'text',
    format: 'text',
    mime: 'text/plain',
    description: `${decoded.encoding === 'ascii' ? 'ASCII' : decoded.encoding.toUpperCase()} text${decoded.bom ? ' (with BOM)' : ''}`,
    traits: [decoded.encoding, ...encodingTraits],
  };
}
