/** The chaos run's peer options: `--peers` parsing and the peers' host_ids after the leasehold hosts'. */
import { describe, expect, it } from 'vitest';
import { parsePeerKinds, peerHostIds } from '../src/chaos/harness/options.js';

describe('chaos peers options', () => {
  it('parses none, one or both peers, in host_id order whatever the order given', () => {
    expect(parsePeerKinds('none')).toEqual([]);
    expect(parsePeerKinds('')).toEqual([]);
    expect(parsePeerKinds('sanlock')).toEqual(['sanlock']);
    expect(parsePeerKinds('sanlock, lvmlockd')).toEqual(['lvmlockd', 'sanlock']);
  });

  it('refuses unknown and repeated peers', () => {
    expect(parsePeerKinds('lvmlockd,dlm')).toBeUndefined();
    expect(parsePeerKinds('sanlock,sanlock')).toBeUndefined();
  });

  it('gives the peers the host_ids after the leasehold hosts', () => {
    expect(peerHostIds({ hosts: 5, peers: ['lvmlockd', 'sanlock'] })).toEqual([
      { kind: 'lvmlockd', hostId: 6 },
      { kind: 'sanlock', hostId: 7 },
    ]);
    expect(peerHostIds({ hosts: 3, peers: ['sanlock'] })).toEqual([{ kind: 'sanlock', hostId: 4 }]);
  });
});
