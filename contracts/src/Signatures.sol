// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Recovers the signer of an EIP-712 digest from a 65-byte (r, s, v) signature.
library Signatures {
    /// Upper bound of s in the lower half of the secp256k1 order (EIP-2): rejects malleable twins.
    uint256 private constant HALF_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    error MalformedSignature(uint256 length);

    /// Returns the signer, or address(0) when the signature is not a valid one.
    function recover(bytes32 digest, bytes calldata signature) internal pure returns (address) {
        if (signature.length != 65) revert MalformedSignature(signature.length);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if (uint256(s) > HALF_ORDER || (v != 27 && v != 28)) return address(0);
        return ecrecover(digest, v, r, s);
    }
}
