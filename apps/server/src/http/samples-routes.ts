import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import { AppError } from '@malpipe/core';
import {
  HashParamsSchema,
  SampleReportSchema,
  Sha256ParamsSchema,
  SubmitSamplesResponseSchema,
  type SubmittedSample,
} from '@malpipe/api-client';
import { sampleKey } from '../storage/object-store.js';
import { principalOf } from './authenticate.js';
import type { HttpServices, UploadedSample } from './http-services.js';
import type { ZodApp } from './zod-app.js';
import { zipSample } from './zip-sample.js';
import { cleanFileName } from '../samples/submit-sample.js';

export interface UploadLimits {
  /** Per file and per request (all files together). */
  readonly uploadLimitBytes: number;
  /** Where uploads are spooled before the pipeline takes them (created if missing). */
  readonly tmpDir: string;
}

const MAX_FILES_PER_UPLOAD = 100;
const MAX_FIELDS = 200;
const MAX_FIELD_BYTES = 64 * 1024;
const MAX_TAGS = 50;
const MAX_TAG_LENGTH = 64;
const MAX_PASSWORDS = 20;

/** The multipart form, for the OpenAPI document (the route reads the parts itself, see readUpload). */
const UPLOAD_FORM_SCHEMA = {
  type: 'object',
  required: ['file'],
  properties: {
    file: { type: 'array', items: { type: 'string', format: 'binary' }, description: 'one part per file' },
    password: { type: 'array', items: { type: 'string' }, description: 'archive passwords to try, in order' },
    tags: { type: 'string', description: 'comma-separated tags' },
    force: { type: 'boolean', description: 'analyse again even when a report exists' },
  },
} as const;

export function registerSampleRoutes(api: ZodApp, services: HttpServices, limits: UploadLimits): void {
  api.post(
    '/samples',
    {
      config: { permission: 'submit', openapiBody: UPLOAD_FORM_SCHEMA },
      schema: {
        summary: 'Submit one or more files for analysis',
        description:
          'multipart/form-data: one or more `file` parts; `password` (archive password, repeatable), `tags` (comma-separated), `force` (true to analyse again).',
        tags: ['samples'],
        consumes: ['multipart/form-data'],
        response: { 202: SubmitSamplesResponseSchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const upload = await readUpload(request, limits);
      const samples: SubmittedSample[] = [];
      try {
        for (const file of upload.files) {
          const input: UploadedSample = {
            content: { path: file.path },
            fileName: file.fileName,
            tags: upload.tags,
            passwords: upload.passwords,
            force: upload.force,
            source: 'upload',
            submittedBy: principal.tokenId,
          };
          const result = await services.submitSample(input);
          samples.push({
            sha256: result.sha256,
            analysisId: result.analysisId,
            isNewSample: result.isNewSample,
            fileName: file.fileName,
          });
        }
      } finally {
        await upload.dispose();
      }
      return reply.status(202).send({ samples });
    },
  );

  api.get(
    '/samples/:hash',
    {
      config: { permission: 'read' },
      schema: {
        summary: 'The full report of a sample, by MD5, SHA-1, SHA-256 or SHA-512',
        tags: ['samples'],
        params: HashParamsSchema,
        response: { 200: SampleReportSchema },
      },
    },
    async (request) => {
      const report = await services.getSampleReport(request.params.hash);
      if (report === null)
        throw new AppError('SAMPLE_NOT_FOUND', `no sample with hash ${request.params.hash}`);
      return report;
    },
  );

  api.get(
    '/samples/:sha256/download',
    {
      config: { permission: 'download' },
      schema: {
        summary: 'Download a sample inside a ZIP (ZipCrypto, password "infected")',
        tags: ['samples'],
        params: Sha256ParamsSchema,
        produces: ['application/zip'],
      },
    },
    async (request, reply) => {
      const { sha256 } = request.params;
      const row = await services.db
        .selectFrom('samples')
        .select(['sha256', 'size'])
        .where('sha256', '=', sha256)
        .executeTakeFirst();
      if (row === undefined) throw new AppError('SAMPLE_NOT_FOUND', `no sample with SHA-256 ${sha256}`);
      const content = await services.store.getBytes(sampleKey(sha256), Number(row.size));
      const zip = await zipSample(`${sha256}.bin`, content);
      request.log.info({ sha256, tokenId: request.principal?.tokenId }, 'sample downloaded');
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${sha256}.zip"`)
        .header('cache-control', 'no-store')
        .send(Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength));
    },
  );
}

interface UploadedFile {
  readonly fileName: string;
  /** The file's bytes, spooled to a private temp file. */
  readonly path: string;
}

interface Upload {
  readonly files: readonly UploadedFile[];
  readonly passwords: readonly string[];
  readonly tags: readonly string[];
  readonly force: boolean;
  /** Removes the spooled files. */
  dispose(): Promise<void>;
}

function tooLarge(limitBytes: number): AppError {
  return new AppError('SAMPLE_TOO_LARGE', `upload exceeds the limit of ${limitBytes} bytes`, {
    details: { limitBytes },
  });
}

/**
 * Reads the whole multipart body, spooling each file to a temp file: the fields that apply to the files
 * (`password`, `tags`, `force`) may come after them, and concurrent uploads near the limit must not hold
 * hundreds of megabytes in memory each. The limit applies per file and to all files together.
 */
async function readUpload(request: FastifyRequest, limits: UploadLimits): Promise<Upload> {
  if (!request.isMultipart())
    throw new AppError('UNSUPPORTED_INPUT', 'expected a multipart/form-data upload');
  await mkdir(limits.tmpDir, { recursive: true });
  const dir = await mkdtemp(join(limits.tmpDir, 'upload-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const files: UploadedFile[] = [];
    const passwords: string[] = [];
    const tags = new Set<string>();
    let force = false;
    let total = 0;
    const parts = request.parts({
      limits: {
        fileSize: limits.uploadLimitBytes,
        files: MAX_FILES_PER_UPLOAD,
        fields: MAX_FIELDS,
        fieldSize: MAX_FIELD_BYTES,
        parts: MAX_FILES_PER_UPLOAD + MAX_FIELDS,
      },
    });
    for await (const part of parts) {
      if (part.type === 'file') {
        const path = join(dir, String(files.length));
        const meter = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            total += chunk.byteLength;
            callback(total > limits.uploadLimitBytes ? tooLarge(limits.uploadLimitBytes) : null, chunk);
          },
        });
        await pipeline(part.file, meter, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
        if (part.file.truncated) throw tooLarge(limits.uploadLimitBytes);
        files.push({ fileName: baseName(part.filename), path });
        continue;
      }
      const value = typeof part.value === 'string' ? part.value : String(part.value);
      switch (part.fieldname) {
        case 'password':
          if (passwords.length >= MAX_PASSWORDS)
            throw new AppError('LIMIT_EXCEEDED', `at most ${MAX_PASSWORDS} passwords`);
          passwords.push(value);
          break;
        case 'tags':
          for (const tag of value.split(',').map((t) => t.trim().toLowerCase())) {
            if (tag === '') continue;
            if (tag.length > MAX_TAG_LENGTH || !/^[\p{L}\p{N}._:/-]+$/u.test(tag)) {
              throw new AppError(
                'VALIDATION_FAILED',
                `invalid tag "${tag.slice(0, MAX_TAG_LENGTH)}" (letters, digits and ._:/- only)`,
              );
            }
            tags.add(tag);
          }
          if (tags.size > MAX_TAGS) throw new AppError('LIMIT_EXCEEDED', `at most ${MAX_TAGS} tags`);
          break;
        case 'force':
          force = ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
          break;
        default:
          throw new AppError(
            'VALIDATION_FAILED',
            `unknown form field "${part.fieldname.slice(0, 64)}" (expected file, password, tags, force)`,
          );
      }
    }
    if (files.length === 0)
      throw new AppError('VALIDATION_FAILED', 'no file in the upload (send at least one "file" part)');
    return { files, passwords, tags: [...tags], force, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Keeps only the last path segment and printable characters: a name is metadata, never a path. */
export function baseName(fileName: string | undefined): string {
  return cleanFileName(fileName) ?? 'unnamed';
}
