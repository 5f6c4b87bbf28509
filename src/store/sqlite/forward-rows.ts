/**
 * The forwarding setting as columns of a user row (schema.ts), and the forwarding values as they
 * cross to the writer thread: plain data, times as milliseconds, like every job's (jobs.ts).
 */
import type { ForwardFailure, ForwardSetting, ForwardState } from '../types';

/** All null while the user has named no destination (or stopped forwarding). */
export interface ForwardColumns {
  forward_address: string | null;
  forward_host: string | null;
  forward_state: ForwardState | null;
  forward_code_hash: string | null;
  forward_code_expires_at: number | null;
  forward_failure_at: number | null;
  forward_failure_code: number | null;
  forward_failure_status: string | null;
}

export interface ForwardFailureData {
  at: number;
  code: number;
  status: string | null;
}

export interface ForwardSettingData {
  address: string;
  host: string | null;
  state: ForwardState;
  codeHash: string | null;
  codeExpiresAt: number | null;
  failure: ForwardFailureData | null;
}

export const NO_FORWARD: ForwardColumns = {
  forward_address: null,
  forward_host: null,
  forward_state: null,
  forward_code_hash: null,
  forward_code_expires_at: null,
  forward_failure_at: null,
  forward_failure_code: null,
  forward_failure_status: null,
};

export function toForward(row: ForwardColumns): ForwardSetting | null {
  if (row.forward_address === null || row.forward_state === null) return null;
  return {
    address: row.forward_address,
    host: row.forward_host,
    state: row.forward_state,
    codeHash: row.forward_code_hash,
    codeExpiresAt:
      row.forward_code_expires_at === null ? null : new Date(row.forward_code_expires_at),
    failure: toFailure({
      at: row.forward_failure_at,
      code: row.forward_failure_code,
      status: row.forward_failure_status,
    }),
  };
}

/** A refusal's columns (a user's last one, or a forward_refusals row) as the rest sees it. */
export function toFailure(row: {
  at: number | null;
  code: number | null;
  status: string | null;
}): ForwardFailure | null {
  return row.at === null || row.code === null
    ? null
    : { at: new Date(row.at), code: row.code, status: row.status };
}

export function forwardColumns(forward: ForwardSettingData | null): ForwardColumns {
  if (!forward) return NO_FORWARD;
  return {
    forward_address: forward.address,
    forward_host: forward.host,
    forward_state: forward.state,
    forward_code_hash: forward.codeHash,
    forward_code_expires_at: forward.codeExpiresAt,
    forward_failure_at: forward.failure?.at ?? null,
    forward_failure_code: forward.failure?.code ?? null,
    forward_failure_status: forward.failure?.status ?? null,
  };
}

export function failureData(failure: ForwardFailure): ForwardFailureData {
  return { at: failure.at.getTime(), code: failure.code, status: failure.status };
}

export function settingData(forward: ForwardSetting): ForwardSettingData {
  return {
    address: forward.address,
    host: forward.host,
    state: forward.state,
    codeHash: forward.codeHash,
    codeExpiresAt: forward.codeExpiresAt?.getTime() ?? null,
    failure: forward.failure ? failureData(forward.failure) : null,
  };
}
