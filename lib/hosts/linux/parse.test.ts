import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  parseBlkidExport,
  parseBtrfsShowSize,
  parseDumpe2fsSize,
  parseFindmnt,
  parseWipefs,
  parseXfsInfoSize,
} from './parse.js'

const test = suite('linux output parsers (recorded output)')

test('blkid -p -o export: filesystem, partition table, nothing', () => {
  assert.equal(
    parseBlkidExport('DEVNAME=/dev/loop0\nUUID=4e1f\nBLOCK_SIZE=4096\nTYPE=ext4\nUSAGE=filesystem\n'),
    [{ type: 'ext4', uuid: '4e1f', label: undefined, usage: 'filesystem' }],
  )
  assert.equal(parseBlkidExport('DEVNAME=/dev/loop1\nPTUUID=9a3c\nPTTYPE=gpt\n'), [
    { type: 'gpt', uuid: '9a3c', usage: 'partition_table' },
  ])
  assert.equal(parseBlkidExport(''), [])
})

test('wipefs --json: signatures, and no output for none', () => {
  const out =
    '{\n   "signatures": [\n      {"device":"loop1", "offset":"0x200", "type":"gpt", "uuid":null, "label":null},\n      {"device":"loop1", "offset":"0x3ffffe00", "type":"gpt", "uuid":null, "label":null}\n   ]\n}\n'
  assert.equal(parseWipefs(out), [
    { type: 'gpt', uuid: undefined, label: undefined, usage: 'partition_table' },
    { type: 'gpt', uuid: undefined, label: undefined, usage: 'partition_table' },
  ])
  // What wipefs prints for a device node it cannot open: the same as for a blank disk.
  assert.equal(parseWipefs('{\n   "signatures": [\n\n   ]\n}\n'), [])
  assert.equal(parseWipefs(''), [])
})

test('findmnt --json', () => {
  const out =
    '{"filesystems": [{"target":"/mnt/d", "source":"/dev/loop0", "fstype":"xfs", "options":"rw,noatime,attr2,inode64", "uuid":"5a1e"}]}'
  assert.equal(parseFindmnt(out), [
    {
      target: '/mnt/d',
      source: '/dev/loop0',
      fstype: 'xfs',
      options: ['rw', 'noatime', 'attr2', 'inode64'],
      uuid: '5a1e',
    },
  ])
  assert.equal(parseFindmnt(''), [])
})

test('filesystem sizes: dumpe2fs, xfs_info, btrfs filesystem show', () => {
  assert.is(
    parseDumpe2fsSize(
      'Filesystem volume name:   data\nBlock count:              262144\nReserved block count:     13107\nBlock size:               4096\n',
    ),
    1024 ** 3,
  )
  assert.is(
    parseXfsInfoSize(
      'meta-data=/dev/loop0              isize=512    agcount=4, agsize=65536 blks\ndata     =                       bsize=4096   blocks=262144, imaxpct=25\n',
    ),
    1024 ** 3,
  )
  assert.is(
    parseBtrfsShowSize(
      "Label: 'data'  uuid: 1b2c\n\tTotal devices 1 FS bytes used 147456\n\tdevid    1 size 2147483648 used 229638144 path /dev/loop0\n",
    ),
    2 * 1024 ** 3,
  )
  assert.throws(() => parseDumpe2fsSize('garbage'), /Block count/)
})

test.run()
