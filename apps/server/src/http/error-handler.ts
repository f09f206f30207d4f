import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AppError, ERROR_CODES, isAppError, type ErrorCode } from '@malpipe/core';
import type { ErrorBody } from '@malpipe/api-client';

/**
 * The one place errors become HTTP responses: `{ error: { code, message } }` with the status from the
 * ERROR_CODES table. Framework and plugin errors are translated to catalogue codes; anything unexpected is
 * logged and answered as INTERNAL without its message or stack (they may name paths or internals).
 */

/** Fastify and plugin error codes with a catalogue equivalent. */
const FRAMEWORK_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_REQ_FILE_TOO_LARGE: 'SAMPLE_TOO_LARGE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_PARTS_LIMIT: 'LIMIT_EXCEEDED',
  FST_FILES_LIMIT: 'LIMIT_EXCEEDED',
  FST_FIELDS_LIMIT: 'LIMIT_EXCEEDED',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_INPUT',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_INPUT',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_PROTO_VIOLATION: 'BAD_REQUEST',
  FST_MP_PREMATURE_CLOSE: 'BAD_REQUEST',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
};

const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_INPUT',
  429: 'RATE_LIMITED',
};

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
  /** Whether the error was unexpected (a bug or an outage) and deserves an error-level log. */
  readonly unexpected: boolean;
}

export function toErrorResponse(error: unknown): ErrorResponse {
  if (isAppError(error)) return fromAppError(error, error.status >= 500 && error.code === 'INTERNAL');
  // The zod-provider guards use `in`, which throws on primitives (someone may `throw 'text'`).
  if (typeof error !== 'object' || error === null)
    return fromAppError(new AppError('INTERNAL', 'internal error'), true);
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext;
    const issues = error.validation.map(
      (issue) => `${issue.instancePath || '/'} ${issue.message ?? 'is invalid'}`,
    );
    const message = `invalid ${where ?? 'request'}: ${issues.slice(0, 5).join('; ')}`;
    return fromAppError(new AppError('VALIDATION_FAILED', message), false);
  }
  if (isResponseSerializationError(error)) {
    return fromAppError(new AppError('INTERNAL', 'internal error'), true);
  }
  if (isFastifyError(error)) {
    const code =
      (error.code !== undefined ? FRAMEWORK_CODES[error.code] : undefined) ?? statusCode(error.statusCode);
    if (code !== undefined) return fromAppError(new AppError(code, error.message), false);
  }
  return fromAppError(new AppError('INTERNAL', 'internal error'), true);
}

function statusCode(status: number | undefined): ErrorCode | undefined {
  if (status === undefined || status < 400 || status >= 500) return undefined;
  return STATUS_CODES[status] ?? 'BAD_REQUEST';
}

function fromAppError(error: AppError, unexpected: boolean): ErrorResponse {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.details !== undefined && error.code !== 'INTERNAL') body.error.details = { ...error.details };
  return { status: ERROR_CODES[error.code].status, body, unexpected };
}

function isFastifyError(error: unknown): error is FastifyError {
  return error instanceof Error && ('statusCode' in error || 'code' in error);
}

/** Fastify's setErrorHandler callback. */
export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const response = toErrorResponse(error);
  if (response.unexpected) {
    request.log.error({ err: error }, 'request failed');
  } else if (response.status >= 500) {
    request.log.warn(
      { code: response.body.error.code, message: response.body.error.message },
      'request failed',
    );
  }
  // QUEUE_FULL and similar say when to come back; HTTP clients and proxies read Retry-After, not the body.
  const retryAfterMs = response.body.error.details?.retryAfterMs;
  if (typeof retryAfterMs === 'number' && response.status === 429) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  return reply.status(response.status).type('application/json; charset=utf-8').send(response.body);
}
