import { describe, expect, it } from 'vitest';
import { AppError } from '@malpipe/core';
import { toErrorResponse } from './error-handler.js';

describe(toErrorResponse.name, () => {
  it('keeps AppError codes and takes the status from the catalogue', () => {
    const response = toErrorResponse(
      new AppError('SAMPLE_NOT_FOUND', 'no sample', { details: { hash: 'abc' } }),
    );
    expect(response).toEqual({
      status: 404,
      body: { error: { code: 'SAMPLE_NOT_FOUND', message: 'no sample', details: { hash: 'abc' } } },
      unexpected: false,
    });
  });

  it('hides the message, stack and cause of unexpected errors', () => {
    const error = new TypeError('cannot read /srv/malpipe/secret.db');
    const response = toErrorResponse(error);
    expect(response.status).toBe(500);
    expect(response.unexpected).toBe(true);
    expect(JSON.stringify(response.body)).toBe('{"error":{"code":"INTERNAL","message":"internal error"}}');
    expect(toErrorResponse('a thrown string').body.error.code).toBe('INTERNAL');
  });

  it('translates framework errors to catalogue codes', () => {
    const fastifyError = (code: string, statusCode: number) =>
      Object.assign(new Error(code), { code, statusCode });
    expect(toErrorResponse(fastifyError('FST_REQ_FILE_TOO_LARGE', 413)).body.error.code).toBe(
      'SAMPLE_TOO_LARGE',
    );
    expect(toErrorResponse(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413)).status).toBe(413);
    expect(toErrorResponse(fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).body.error.code).toBe(
      'UNSUPPORTED_INPUT',
    );
    expect(toErrorResponse(fastifyError('FST_SOMETHING_NEW', 405)).body.error.code).toBe('BAD_REQUEST');
    expect(toErrorResponse(fastifyError('FST_SOMETHING_BROKEN', 500)).body.error.code).toBe('INTERNAL');
  });
});
