import { msg } from '@lit/localize';

export const SERVICE_STATES = ['operational', 'degraded', 'down', 'maintenance'] as const;

export function statusLabel(s: string): string {
  switch (s) {
    case 'operational':
      return msg('All systems operational');
    case 'degraded':
      return msg('Degraded performance');
    case 'down':
      return msg('Major outage');
    case 'maintenance':
      return msg('Maintenance');
    default:
      return msg('Status unknown');
  }
}

export function stateLabel(s: string): string {
  switch (s) {
    case 'operational':
      return msg('Operational');
    case 'degraded':
      return msg('Degraded');
    case 'down':
      return msg('Down');
    case 'maintenance':
      return msg('Maintenance');
    default:
      return msg('Unknown');
  }
}
