/** Cobalt Strike beacon analysis: config and stager parsing, formatters, the analyser. Pure: bytes in, data out. */
export type * from './beacon-config.js';
export { parseBeaconConfigs, DEFAULT_XOR_KEYS, type BeaconParseResult, type FoundStager, type ParseBeaconOptions } from './parse-beacon-configs.js';
export { createBeaconScanner, type BeaconScanner, type BeaconScannerOptions } from './beacon-scanner.js';
export { parseStager, checksum8, stagerUriArch, type StagerInfo, type StagerKind } from './parse-stager.js';
export { parseSettingRecords, CONFIG_BLOCK_SIZE } from './parse-setting-records.js';
export { decodeSettings } from './decode-settings.js';
export { decodeSleeve, decodeFeedbackXor } from './sleeve.js';
export { findArtifactKitPayloads } from './artifact-kit.js';
export { findGuardOffsets, unmaskGuardrails, guardrailChecksum } from './guardrails.js';
export { readRuntimeTable, isRuntimeTableAt, type ReadVirtual } from './runtime-table.js';
export { estimateBeaconVersion } from './version.js';
export { decodePublicKey, LEAKED_PUBLIC_KEYS_DER } from './public-key.js';
export { toJpcertJson, formatPythonJson, JPCERT_KEYS, type JpcertJson, type JpcertOptions } from './jpcert-json.js';
export { toMalleableProfile } from './malleable-profile.js';
export { SETTING_DEFINITIONS } from './setting-table.js';
export { cobaltStrikeAnalyzer, toNativeJson, type CobaltStrikeResult, type NativeBeaconConfig } from './cobaltstrike-analyzer.js';
