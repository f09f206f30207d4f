/**
 * The beacon setting ids 1-78 (BeaconConstants.java 4.5, beacon.h, dissect's BeaconSetting for 4.7-4.10).
 * `decoder` says how the value is rendered; `key` is the stable camelCase name used in the native `fields` view.
 * Ids whose meaning changed between versions (16, 17, 36, 48) are resolved in decode-settings.ts.
 */
export type SettingDecoder =
  | 'number'
  | 'signed'
  | 'protocol'
  | 'string'
  | 'bytes'
  | 'public-key'
  | 'domains'
  | 'recover-program'
  | 'transform-get'
  | 'transform-post'
  | 'ipv4'
  | 'bool'
  | 'date'
  | 'page-protection'
  | 'inject-transform'
  | 'inject-execute'
  | 'gargle-sections'
  | 'frame-header'
  | 'header-list'
  | 'strategy'
  | 'proxy-behavior'
  | 'allocator'
  | 'exit-funk'
  | 'bof-allocator'
  | 'beacon-gate';

export interface SettingDefinition {
  readonly id: number;
  readonly name: string;
  readonly key: string;
  readonly decoder: SettingDecoder;
  /** Declared length the builder writes for ptr settings (used when rebuilding records from memory). */
  readonly length?: number;
}

function def(id: number, name: string, key: string, decoder: SettingDecoder, length?: number): SettingDefinition {
  return length === undefined ? { id, name, key, decoder } : { id, name, key, decoder, length };
}

export const SETTING_DEFINITIONS: readonly SettingDefinition[] = [
  def(1, 'SETTING_PROTOCOL', 'protocol', 'protocol'),
  def(2, 'SETTING_PORT', 'port', 'number'),
  def(3, 'SETTING_SLEEPTIME', 'sleepTimeMs', 'number'),
  def(4, 'SETTING_MAXGET', 'maxGetSize', 'number'),
  def(5, 'SETTING_JITTER', 'jitter', 'number'),
  def(6, 'SETTING_MAXDNS', 'maxDns', 'number'),
  def(7, 'SETTING_PUBKEY', 'publicKey', 'public-key', 256),
  def(8, 'SETTING_DOMAINS', 'domains', 'domains', 256),
  def(9, 'SETTING_USERAGENT', 'userAgent', 'string', 256),
  def(10, 'SETTING_SUBMITURI', 'submitUri', 'string', 64),
  def(11, 'SETTING_C2_RECOVER', 'httpGetServerOutput', 'recover-program', 256),
  def(12, 'SETTING_C2_REQUEST', 'httpGetClient', 'transform-get', 256),
  def(13, 'SETTING_C2_POSTREQ', 'httpPostClient', 'transform-post', 256),
  def(14, 'SETTING_SPAWNTO', 'spawnTo', 'bytes', 16),
  def(15, 'SETTING_PIPENAME', 'pipeName', 'string', 128),
  def(16, 'SETTING_KILLDATE_YEAR', 'killDateYear', 'number'),
  def(17, 'SETTING_KILLDATE_MONTH', 'killDateMonth', 'number'),
  def(18, 'SETTING_KILLDATE_DAY', 'killDateDay', 'number'),
  def(19, 'SETTING_DNS_IDLE', 'dnsIdle', 'ipv4'),
  def(20, 'SETTING_DNS_SLEEP', 'dnsSleep', 'number'),
  def(21, 'SETTING_SSH_HOST', 'sshHost', 'string', 256),
  def(22, 'SETTING_SSH_PORT', 'sshPort', 'number'),
  def(23, 'SETTING_SSH_USERNAME', 'sshUsername', 'string', 128),
  def(24, 'SETTING_SSH_PASSWORD', 'sshPassword', 'string', 128),
  def(25, 'SETTING_SSH_KEY', 'sshKey', 'string', 6144),
  def(26, 'SETTING_C2_VERB_GET', 'httpGetVerb', 'string', 16),
  def(27, 'SETTING_C2_VERB_POST', 'httpPostVerb', 'string', 16),
  def(28, 'SETTING_C2_CHUNK_POST', 'httpPostChunk', 'number'),
  def(29, 'SETTING_SPAWNTO_X86', 'spawnToX86', 'string', 64),
  def(30, 'SETTING_SPAWNTO_X64', 'spawnToX64', 'string', 64),
  def(31, 'SETTING_CRYPTO_SCHEME', 'cryptoScheme', 'number'),
  def(32, 'SETTING_PROXY_CONFIG', 'proxyConfig', 'string', 128),
  def(33, 'SETTING_PROXY_USER', 'proxyUser', 'string', 64),
  def(34, 'SETTING_PROXY_PASSWORD', 'proxyPassword', 'string', 64),
  def(35, 'SETTING_PROXY_BEHAVIOR', 'proxyBehavior', 'proxy-behavior'),
  def(36, 'SETTING_WATERMARKHASH', 'watermarkHash', 'string', 32),
  def(37, 'SETTING_WATERMARK', 'watermark', 'number'),
  def(38, 'SETTING_CLEANUP', 'stageCleanup', 'bool'),
  def(39, 'SETTING_CFG_CAUTION', 'cfgCaution', 'bool'),
  def(40, 'SETTING_KILLDATE', 'killDate', 'date'),
  def(41, 'SETTING_GARGLE_NOOK', 'textSectionEnd', 'number'),
  def(42, 'SETTING_GARGLE_SECTIONS', 'obfuscateSections', 'gargle-sections', 32),
  def(43, 'SETTING_PROCINJ_PERMS_I', 'processInjectStartRwx', 'page-protection'),
  def(44, 'SETTING_PROCINJ_PERMS', 'processInjectUseRwx', 'page-protection'),
  def(45, 'SETTING_PROCINJ_MINALLOC', 'processInjectMinAlloc', 'number'),
  def(46, 'SETTING_PROCINJ_TRANSFORM_X86', 'processInjectTransformX86', 'inject-transform', 256),
  def(47, 'SETTING_PROCINJ_TRANSFORM_X64', 'processInjectTransformX64', 'inject-transform', 256),
  def(48, 'SETTING_PROCINJ_ALLOWED', 'processInjectAllowed', 'number'),
  def(49, 'SETTING_BINDHOST', 'bindHost', 'ipv4'),
  def(50, 'SETTING_HTTP_NO_COOKIES', 'httpNoCookies', 'bool'),
  def(51, 'SETTING_PROCINJ_EXECUTE', 'processInjectExecute', 'inject-execute', 128),
  def(52, 'SETTING_PROCINJ_ALLOCATOR', 'processInjectAllocator', 'allocator'),
  def(53, 'SETTING_PROCINJ_STUB', 'processInjectStub', 'bytes', 16),
  def(54, 'SETTING_HOST_HEADER', 'hostHeader', 'string', 128),
  def(55, 'SETTING_EXIT_FUNK', 'exitFunction', 'exit-funk'),
  def(56, 'SETTING_SSH_BANNER', 'sshBanner', 'string', 128),
  def(57, 'SETTING_SMB_FRAME_HEADER', 'smbFrameHeader', 'frame-header', 128),
  def(58, 'SETTING_TCP_FRAME_HEADER', 'tcpFrameHeader', 'frame-header', 128),
  def(59, 'SETTING_HEADERS_REMOVE', 'headersToRemove', 'header-list', 64),
  def(60, 'SETTING_DNS_BEACON_BEACON', 'dnsBeacon', 'string', 33),
  def(61, 'SETTING_DNS_BEACON_GET_A', 'dnsGetA', 'string', 33),
  def(62, 'SETTING_DNS_BEACON_GET_AAAA', 'dnsGetAaaa', 'string', 33),
  def(63, 'SETTING_DNS_BEACON_GET_TXT', 'dnsGetTxt', 'string', 33),
  def(64, 'SETTING_DNS_BEACON_PUT_METADATA', 'dnsPutMetadata', 'string', 33),
  def(65, 'SETTING_DNS_BEACON_PUT_OUTPUT', 'dnsPutOutput', 'string', 33),
  def(66, 'SETTING_DNSRESOLVER', 'dnsResolver', 'string', 15),
  def(67, 'SETTING_DOMAIN_STRATEGY', 'domainStrategy', 'strategy'),
  def(68, 'SETTING_DOMAIN_STRATEGY_SECONDS', 'domainStrategySeconds', 'signed'),
  def(69, 'SETTING_DOMAIN_STRATEGY_FAIL_X', 'domainStrategyFailX', 'signed'),
  def(70, 'SETTING_DOMAIN_STRATEGY_FAIL_SECONDS', 'domainStrategyFailSeconds', 'signed'),
  def(71, 'SETTING_MAX_RETRY_STRATEGY_ATTEMPTS', 'retryMaxAttempts', 'number'),
  def(72, 'SETTING_MAX_RETRY_STRATEGY_INCREASE', 'retryIncreaseAttempts', 'number'),
  def(73, 'SETTING_MAX_RETRY_STRATEGY_DURATION', 'retryDuration', 'number'),
  def(74, 'SETTING_MASKED_WATERMARK', 'maskedWatermark', 'bytes', 32),
  def(76, 'SETTING_DATA_STORE_SIZE', 'dataStoreSize', 'number'),
  def(77, 'SETTING_HTTP_DATA_REQUIRED', 'httpDataRequired', 'number'),
  def(78, 'SETTING_BEACON_GATE', 'beaconGate', 'beacon-gate', 23),
];

export const SETTINGS_BY_ID: ReadonlyMap<number, SettingDefinition> = new Map(SETTING_DEFINITIONS.map((d) => [d.id, d]));

/** Highest id any known Cobalt Strike version (up to 4.10) writes. */
export const MAX_KNOWN_SETTING_ID = 78;

/** Protocol flag bits of setting 1 (S1 names, used by the JPCERT view). */
export const PROTOCOL_FLAGS: readonly { readonly bit: number; readonly name: string; readonly s1: string }[] = [
  { bit: 0x0, name: 'http', s1: 'HTTP' },
  { bit: 0x1, name: 'dns', s1: 'Hybrid HTTP DNS' },
  { bit: 0x2, name: 'smb', s1: 'SMB' },
  { bit: 0x4, name: 'tcp', s1: 'TCP' },
  { bit: 0x8, name: 'https', s1: 'HTTPS' },
  { bit: 0x10, name: 'tcp-bind', s1: 'Bind TCP' },
];

export const PROXY_BEHAVIORS: Readonly<Record<number, string>> = {
  0: 'Use proxy server (manual)',
  1: 'Use direct connection',
  2: 'Use IE settings',
  4: 'Use proxy server (credentials)',
};

export const DOMAIN_STRATEGIES: readonly string[] = [
  'round-robin', 'random', 'failover', 'failover-5x', 'failover-50x', 'failover-100x', 'failover-1m', 'failover-5m',
  'failover-15m', 'failover-30m', 'failover-1h', 'failover-3h', 'failover-6h', 'failover-12h', 'failover-1d',
  'rotate-1m', 'rotate-5m', 'rotate-15m', 'rotate-30m', 'rotate-1h', 'rotate-3h', 'rotate-6h', 'rotate-12h', 'rotate-1d',
];

export const ALLOCATORS: Readonly<Record<number, string>> = { 0: 'VirtualAllocEx', 1: 'NtMapViewOfSection' };
export const BOF_ALLOCATORS: Readonly<Record<number, string>> = { 0: 'VirtualAlloc', 1: 'MapViewOfFile', 2: 'HeapAlloc' };
export const EXIT_FUNCTIONS: Readonly<Record<number, string>> = { 0: 'process', 1: 'thread' };

/** BeaconGate flags of setting 78, one byte each, in this order (dissect BeaconGateOptions). */
export const BEACON_GATE_APIS: readonly string[] = [
  'InternetOpenA', 'InternetConnectA', 'VirtualAlloc', 'VirtualAllocEx', 'VirtualProtect', 'VirtualProtectEx',
  'VirtualFree', 'GetThreadContext', 'SetThreadContext', 'ResumeThread', 'CreateThread', 'CreateRemoteThread',
  'OpenProcess', 'OpenThread', 'CloseHandle', 'CreateFileMappingA', 'MapViewOfFile', 'UnmapViewOfFile', 'VirtualQuery',
  'DuplicateHandle', 'ReadProcessMemory', 'WriteProcessMemory', 'ExitThread',
];
