import type { BeaconVersion } from './beacon-config.js';

type Release = readonly [version: string, date: string];

/** Beacon DLL export-directory TimeDateStamps per release (dissect PE_EXPORT_STAMP_TO_VERSION). */
const EXPORT_STAMPS: ReadonlyMap<number, Release> = new Map<number, Release>([
  [0x579a6849, ['3.4', 'Jul 29, 2016']],
  [0x57dca5fc, ['3.5', 'Sep 22, 2016']],
  [0x58487e41, ['3.6', 'Dec 08, 2016']],
  [0x58bca7ca, ['3.7', 'Mar 15, 2017']],
  [0x5923564d, ['3.8', 'May 23, 2017']],
  [0x59be846a, ['3.9', 'Sep 26, 2017']],
  [0x5a29b49d, ['3.10', 'Dec 11, 2017']],
  [0x5ac92ea9, ['3.11', 'Apr 09, 2018']],
  [0x5b048335, ['3.11', 'May 24, 2018']],
  [0x5b90504c, ['3.12', 'Sep 06, 2018']],
  [0x5c26a9c6, ['3.13', 'Jan 02, 2019']],
  [0x5cb90df5, ['3.14', 'May 02, 2019']],
  [0x5cccc811, ['3.14', 'May 04, 2019']],
  ...[0x5d89b903, 0x5de82de4, 0x5de8f170, 0x5de8f1fa].map((s): [number, Release] => [s, ['4.0', 'Dec 05, 2019']]),
  ...[0x5ef2555b, 0x5ef25593].map((s): [number, Release] => [s, ['4.1', 'Jun 25, 2020']]),
  ...[0x5f94c216, 0x5fa0b201, 0x5fa0b264].map((s): [number, Release] => [s, ['4.2', 'Nov 06, 2020']]),
  ...[0x603e2d9d, 0x603e4ef7, 0x603f9d1d].map((s): [number, Release] => [s, ['4.3', 'Mar 03, 2021']]),
  ...[0x61093a45, 0x61093a9e].map((s): [number, Release] => [s, ['4.4', 'Aug 04, 2021']]),
  ...[0x619d3a1b, 0x619d3a40].map((s): [number, Release] => [s, ['4.5', 'Dec 14, 2021']]),
  ...[0x6255eb4e, 0x6255eb6e, 0x6255eb91].map((s): [number, Release] => [s, ['4.6', 'Apr 12, 2022']]),
  ...[0x62ebf2b8, 0x62ebf2da, 0x62ebf2f9].map((s): [number, Release] => [s, ['4.7', 'Aug 17, 2022']]),
  ...[0x630cd51c, 0x630cd53b, 0x630cd559].map((s): [number, Release] => [s, ['4.7.1', 'Sep 16, 2022']]),
  ...[0x63ee0552, 0x63ee056c, 0x63ee0587].map((s): [number, Release] => [s, ['4.8', 'Feb 28, 2023']]),
  ...[0x64f88c5e, 0x64f88c7e, 0x64f88c9e, 0x64f88cde].map((s): [number, Release] => [s, ['4.9', 'Sep 19, 2023']]),
  ...[0x6691500f, 0x66915020, 0x66915022, 0x66915024, 0x66915027, 0x6691503d].map((s): [number, Release] => [s, ['4.10', 'Jul 16, 2024']]),
  ...[0x674e0d02, 0x674e0d13, 0x674e0d17].map((s): [number, Release] => [s, ['4.10.1', 'Dec 10, 2024']]),
]);

/**
 * Highest setting id -> earliest release writing it (dissect MAX_ENUM_TO_VERSION), used as a range: a max id at or
 * above a threshold means "that release or later". Custom builds can add ids, so this is an estimate.
 */
const MAX_ID_THRESHOLDS: readonly (readonly [number, string, string])[] = [
  [78, '4.10', 'Jul 16, 2024'],
  [76, '4.9', 'Sep 19, 2023'],
  [74, '4.7', 'Aug 17, 2022'],
  [73, '4.5', 'Dec 14, 2021'],
  [70, '4.3', 'Mar 03, 2021'],
  [59, '4.2', 'Nov 06, 2020'],
  [58, '4.1', 'Jun 25, 2020'],
  [55, '4.0', 'Dec 05, 2019'],
  [53, '3.14', 'May 04, 2019'],
  [49, '3.13', 'Jan 02, 2019'],
  [48, '3.12', 'Sep 06, 2018'],
  [39, '3.11', 'May 24, 2018'],
  [38, '3.11', 'Apr 09, 2018'],
  [37, '3.9', 'Sep 26, 2017'],
  [36, '3.8', 'May 23, 2017'],
  [35, '3.7', 'Mar 15, 2017'],
  [31, '3.6', 'Dec 08, 2016'],
  [20, '3.4', 'Jul 29, 2016'],
];

/** The export stamp wins (the 4.2 corpus beacon has max id 58, which alone would say 4.1); then the max id. */
export function estimateBeaconVersion(exportStamp: number | null, maxSettingId: number): BeaconVersion {
  const byStamp = exportStamp === null ? undefined : EXPORT_STAMPS.get(exportStamp);
  if (byStamp) {
    return { name: `Cobalt Strike ${byStamp[0]} (${byStamp[1]})`, number: byStamp[0], source: 'pe-export-stamp', maxSettingId };
  }
  const range = MAX_ID_THRESHOLDS.find(([id]) => maxSettingId >= id);
  if (range && maxSettingId <= 128) {
    return { name: `Cobalt Strike ${range[1]} (${range[2]})`, number: range[1], source: 'max-setting-id', maxSettingId };
  }
  return { name: 'Unknown', number: null, source: 'unknown', maxSettingId };
}
