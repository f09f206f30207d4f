import { checkRuleset, formatCheckReport } from '@malpipe/yara-ci';
const dir = process.argv[2] ?? 'rules/default';
const report = await checkRuleset(dir, { goodwareMaxFiles: Number(process.env.GW ?? 24) });
process.stdout.write(formatCheckReport(report));
