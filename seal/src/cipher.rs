//! Sealing a key to the proxy, and opening it there.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use zeroize::Zeroizing;

use crate::header::{self, NONCE_LEN, Sealed, TAG_LEN};
use crate::key::{Kem, KeyPair, PublicKey};
use crate::{INFO, Request, SealError};

/// The longest key sealed: the proxy takes keys of at most 1,024 bytes.
const MAX_KEY_LEN: usize = 1024;

/// Seals `key` to the proxy's `public` key (id `key_id`) for `request`, at `time` (Unix
/// seconds): the `X-BYOK-Sealed` header value.
///
/// # Errors
///
/// [`SealError::Unusable`] for an empty key or one over 1,024 bytes, [`SealError::NoRandom`]
/// when the platform has no random source.
pub fn seal(
    public: &PublicKey,
    key_id: &str,
    request: &Request<'_>,
    time: u64,
    key: &[u8],
) -> Result<String, SealError> {
    let mut randomness = Zeroizing::new([0u8; 32 + NONCE_LEN]);
    getrandom::fill(randomness.as_mut()).map_err(|_| SealError::NoRandom)?;
    let (ephemeral, nonce) = randomness.split_at(32);
    seal_with(public, key_id, request, time, key, ephemeral, nonce)
}

/// [`seal`] with its randomness given: `ephemeral` (32 bytes: the sender's `ikmE`) and
/// `nonce`. Only for known-answer tests; anything else must use [`seal`].
pub(crate) fn seal_with(
    public: &PublicKey,
    key_id: &str,
    request: &Request<'_>,
    time: u64,
    key: &[u8],
    ephemeral: &[u8],
    nonce: &[u8],
) -> Result<String, SealError> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(SealError::Unusable("the key is empty or over 1,024 bytes"));
    }
    let nonce = URL_SAFE_NO_PAD.encode(nonce);
    let aad = request.aad(time, &nonce);
    let (enc, ciphertext) = hpke_seal(public, INFO, &aad, key, ephemeral)?;
    Ok(header::format(key_id, time, &nonce, &enc, &ciphertext))
}

/// RFC 9180 `SealBase` for this suite, with the sender's `ikmE` given.
fn hpke_seal(
    public: &PublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    ephemeral: &[u8],
) -> Result<([u8; 32], Vec<u8>), SealError> {
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        &public.0,
        info,
        plaintext,
        aad,
        &mut Given(ephemeral),
    )
    .map_err(|_| SealError::Unusable("the proxy's public key"))?;
    Ok((enc.to_bytes().into(), ciphertext))
}

/// RFC 9180 `OpenBase` for this suite.
fn hpke_open(
    pair: &KeyPair,
    enc: &[u8],
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| SealError::Invalid)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        pair.private(),
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| SealError::Invalid)
}

impl KeyPair {
    /// Opens `sealed` (sealed to this pair) for `request`: the key, when it was sealed to this
    /// pair for exactly this request at the time and with the nonce it names.
    ///
    /// Whether the time is recent and the nonce new is the caller's to check.
    ///
    /// # Errors
    ///
    /// [`SealError::Invalid`], whatever the cause.
    pub fn open(
        &self,
        sealed: &Sealed<'_>,
        request: &Request<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.key_id != self.id() || sealed.ciphertext.len() <= TAG_LEN {
            return Err(SealError::Invalid);
        }
        let aad = request.aad(sealed.time, sealed.nonce);
        hpke_open(self, &sealed.enc, INFO, &aad, &sealed.ciphertext)
    }
}

/// A "random" source that hands out given bytes, so a known-answer test can fix HPKE's
/// ephemeral key. HPKE draws exactly 32 bytes (`ikmE`) per seal.
struct Given<'a>(&'a [u8]);

impl rand_core::TryRng for Given<'_> {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        self.try_fill_bytes(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        // HPKE asks for exactly what was given; asking for more would be a bug in this crate,
        // and zeros would be a predictable key, so it fails loudly instead.
        assert!(
            dst.len() <= self.0.len(),
            "HPKE asked for more randomness than given"
        );
        let (now, rest) = self.0.split_at(dst.len());
        dst.copy_from_slice(now);
        self.0 = rest;
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Given<'_> {}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn unhex(text: &str) -> Vec<u8> {
        hex::decode(text).unwrap()
    }

    /// RFC 9180, appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305,
    /// base mode; the first two encryptions (sequence numbers 0 and 1 use their own nonces, so
    /// only the first is a single-shot seal; the second is opened with its own context below).
    const INFO_A21: &str = "4f6465206f6e2061204772656369616e2055726e";
    const IKM_E: &str = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
    const IKM_R: &str = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
    const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
    const ENC: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
    const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    const AAD_0: &str = "436f756e742d30";
    const CT_0: &str = "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28";

    #[test]
    fn rfc_9180_a_2_1_seals_and_opens_to_the_published_bytes() {
        let pair = KeyPair::derive(&unhex(IKM_R).try_into().unwrap());
        assert_eq!(pair.public_key().to_bytes().to_vec(), unhex(PK_RM));
        let (enc, ct) = hpke_seal(
            &pair.public_key(),
            &unhex(INFO_A21),
            &unhex(AAD_0),
            &unhex(PT),
            &unhex(IKM_E),
        )
        .unwrap();
        assert_eq!(enc.to_vec(), unhex(ENC));
        assert_eq!(ct, unhex(CT_0));
        let opened = hpke_open(
            &pair,
            &unhex(ENC),
            &unhex(INFO_A21),
            &unhex(AAD_0),
            &unhex(CT_0),
        );
        assert_eq!(opened.unwrap().to_vec(), unhex(PT));
        // One bit off anywhere: nothing opens.
        let mut ct = unhex(CT_0);
        ct[5] ^= 1;
        assert!(hpke_open(&pair, &unhex(ENC), &unhex(INFO_A21), &unhex(AAD_0), &ct).is_err());
    }

    fn sealed_for(pair: &KeyPair, request: &Request<'_>) -> String {
        seal(
            &pair.public_key(),
            &pair.id(),
            request,
            1_700_000_000,
            b"sk-proj-abcdefgh",
        )
        .unwrap()
    }

    #[test]
    fn a_sealed_key_opens_only_for_its_request() {
        let pair = KeyPair::derive(&[9; 32]);
        let request = Request::new("POST", "/openai/v1/chat/completions", b"{\"model\":\"m\"}");
        let header = sealed_for(&pair, &request);
        assert!(!header.contains("sk-proj"));
        let sealed = Sealed::parse(&header).unwrap();
        assert_eq!(
            &**pair.open(&sealed, &request).unwrap(),
            b"sk-proj-abcdefgh"
        );
        for other in [
            Request::new("PUT", "/openai/v1/chat/completions", b"{\"model\":\"m\"}"),
            Request::new(
                "POST",
                "/openai/v1/chat/completions?x",
                b"{\"model\":\"m\"}",
            ),
            Request::new("POST", "/openai/v1/embeddings", b"{\"model\":\"m\"}"),
            Request::new("POST", "/openai/v1/chat/completions", b"{\"model\":\"n\"}"),
            Request::new("POST", "/openai/v1/chat/completions", b""),
        ] {
            assert_eq!(
                pair.open(&sealed, &other),
                Err(SealError::Invalid),
                "{other:?}"
            );
        }
        // Another proxy's pair, a moved time or nonce: the same opaque error.
        let other_pair = KeyPair::derive(&[8; 32]);
        assert_eq!(other_pair.open(&sealed, &request), Err(SealError::Invalid));
        let mut moved = sealed.clone();
        moved.time += 1;
        assert_eq!(pair.open(&moved, &request), Err(SealError::Invalid));
        let mut renonced = sealed.clone();
        renonced.nonce = "AAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(pair.open(&renonced, &request), Err(SealError::Invalid));
    }

    #[test]
    fn every_flipped_bit_of_enc_or_ciphertext_is_refused() {
        let pair = KeyPair::derive(&[9; 32]);
        let request = Request::new("GET", "/openai/v1/models", b"");
        let header = sealed_for(&pair, &request);
        let sealed = Sealed::parse(&header).unwrap();
        for i in 0..sealed.ciphertext.len() * 8 {
            let mut bad = sealed.clone();
            bad.ciphertext[i / 8] ^= 1 << (i % 8);
            assert_eq!(pair.open(&bad, &request), Err(SealError::Invalid));
        }
        for i in 0..32 * 8 {
            let mut bad = sealed.clone();
            bad.enc[i / 8] ^= 1 << (i % 8);
            assert!(pair.open(&bad, &request).is_err());
        }
    }

    #[test]
    fn two_seals_of_one_key_share_nothing_but_the_key_id() {
        let pair = KeyPair::derive(&[9; 32]);
        let request = Request::new("GET", "/openai/v1/models", b"");
        let (a, b) = (sealed_for(&pair, &request), sealed_for(&pair, &request));
        let (a, b) = (Sealed::parse(&a).unwrap(), Sealed::parse(&b).unwrap());
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.enc, b.enc);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn an_empty_or_huge_key_is_not_sealed() {
        let pair = KeyPair::derive(&[9; 32]);
        let request = Request::new("GET", "/x", b"");
        for key in [&b""[..], &[b'k'; 1025][..]] {
            assert!(matches!(
                seal(&pair.public_key(), &pair.id(), &request, 1, key),
                Err(SealError::Unusable(_))
            ));
        }
        let longest = seal(&pair.public_key(), &pair.id(), &request, 1, &[b'k'; 1024]).unwrap();
        assert!(longest.len() <= crate::MAX_HEADER_LEN, "{}", longest.len());
        assert!(Sealed::parse(&longest).is_ok());
    }
}
