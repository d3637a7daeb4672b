//! Copies of a real reply that the state and the pipeline see as new objects: every
//! objectGUID rewritten (a DRS sync cycle carries each object once; the same capture replayed
//! over and over would instead be the same objects coming again and again, which the merge
//! must wait on: `phsync::manual`, "how deltas merge").

use phsync::drs::Reply;

/// One reply's bytes and where each objectGUID stands in them.
pub struct Template {
    bytes: Vec<u8>,
    guid_offsets: Vec<usize>,
    /// Objects in the reply.
    pub objects: usize,
}

impl Template {
    /// `bytes`: a reply's `[out]` stub, as `Reply::decode` reads it.
    pub fn new(bytes: Vec<u8>) -> Template {
        let reply = Reply::decode(&bytes).unwrap();
        let mut guid_offsets = Vec::new();
        for o in reply.objects() {
            let g = *o.object_guid().unwrap().as_bytes();
            guid_offsets.extend(
                bytes
                    .windows(16)
                    .enumerate()
                    .filter(|(_, w)| *w == g)
                    .map(|(i, _)| i),
            );
        }
        Template {
            bytes,
            guid_offsets,
            objects: reply.objects().len(),
        }
    }

    /// Copy `n`'s bytes: every GUID's last four bytes XORed with `n` (copy 0 is the original).
    pub fn copy_bytes(&self, n: u32) -> Vec<u8> {
        let mut b = self.bytes.clone();
        for &off in &self.guid_offsets {
            for (i, x) in n.to_le_bytes().iter().enumerate() {
                b[off + 12 + i] ^= x;
            }
        }
        b
    }
}
