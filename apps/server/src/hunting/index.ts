export * from './run-retrohunt.js';
export * from './retrohunt-job.js';
export * from './virustotal-hunting.js';
