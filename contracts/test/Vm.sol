// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// The few Forge cheatcodes these tests use (our own declaration; forge-std is not vendored).
interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 selector) external;
    /// Matches the error selector only (its arguments are not known in advance).
    function expectPartialRevert(bytes4 selector) external;
    function sign(uint256 privateKey, bytes32 digest)
        external
        returns (uint8 v, bytes32 r, bytes32 s);
    function addr(uint256 privateKey) external returns (address);
    function chainId(uint256 newChainId) external;
}

/// Assertions that revert with the facts, which Forge reports as a failed test.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    error AssertionFailed(string what, uint256 actual, uint256 expected);
    error AddressAssertionFailed(string what, address actual, address expected);

    function assertEq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) revert AssertionFailed(what, actual, expected);
    }

    function assertEq(address actual, address expected, string memory what) internal pure {
        if (actual != expected) revert AddressAssertionFailed(what, actual, expected);
    }
}
