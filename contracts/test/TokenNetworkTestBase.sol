// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./Vm.sol";
import {TestToken} from "../src/TestToken.sol";
import {TokenNetwork} from "../src/TokenNetwork.sol";

/// Two participants (alice, bob) with tokens and approvals, plus helpers to sign EIP-712 messages.
abstract contract TokenNetworkTestBase is Test {
    uint64 internal constant SETTLE_TIMEOUT = 600;
    uint256 internal constant ALICE_KEY = 0xA11CE;
    uint256 internal constant BOB_KEY = 0xB0B;
    uint256 internal constant MALLORY_KEY = 0x3A11047;

    TestToken internal token;
    TokenNetwork internal network;
    address internal alice;
    address internal bob;
    address internal mallory;

    function setUp() public virtual {
        token = new TestToken("Test Token", "TST", 6);
        network = new TokenNetwork(address(token), 60, 30 days);
        alice = vm.addr(ALICE_KEY);
        bob = vm.addr(BOB_KEY);
        mallory = vm.addr(MALLORY_KEY);
        address[3] memory holders = [alice, bob, mallory];
        for (uint256 i = 0; i < holders.length; i++) {
            token.mint(holders[i], 1_000_000);
            vm.prank(holders[i]);
            token.approve(address(network), type(uint256).max);
        }
        vm.warp(1_000_000);
    }

    function openFunded(uint256 aliceDeposit, uint256 bobDeposit) internal returns (uint256 id) {
        id = network.openChannel(alice, bob, SETTLE_TIMEOUT);
        if (aliceDeposit > 0) {
            vm.prank(alice);
            network.setTotalDeposit(id, alice, aliceDeposit);
        }
        if (bobDeposit > 0) {
            vm.prank(bob);
            network.setTotalDeposit(id, bob, bobDeposit);
        }
    }

    function signBalanceProof(
        uint256 key,
        TokenNetwork target,
        uint256 channelId,
        uint256 nonce,
        uint256 transferredAmount,
        uint256 lockedAmount,
        bytes32 locksRoot
    ) internal returns (bytes memory) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "BalanceProof(uint256 channelId,uint256 nonce,uint256 transferredAmount,"
                    "uint256 lockedAmount,bytes32 locksRoot)"
                ),
                channelId,
                nonce,
                transferredAmount,
                lockedAmount,
                locksRoot
            )
        );
        return signDigest(key, target, structHash);
    }

    function proof(uint256 key, uint256 channelId, uint256 nonce, uint256 transferredAmount)
        internal
        returns (bytes memory)
    {
        return signBalanceProof(key, network, channelId, nonce, transferredAmount, 0, bytes32(0));
    }

    function signCooperativeSettle(
        uint256 key,
        TokenNetwork target,
        uint256 channelId,
        uint256 aliceBalance,
        uint256 bobBalance
    ) internal returns (bytes memory) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "CooperativeSettle(uint256 channelId,address participant1,"
                    "uint256 participant1Balance,address participant2,uint256 participant2Balance)"
                ),
                channelId,
                alice,
                aliceBalance,
                bob,
                bobBalance
            )
        );
        return signDigest(key, target, structHash);
    }

    /// The domain is rebuilt here from its parts (not read from the contract) so a wrong
    /// domain in the contract makes every signature test fail.
    function signDigest(uint256 key, TokenNetwork target, bytes32 structHash)
        internal
        returns (bytes memory)
    {
        bytes32 domain = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("SettlementLedgerTokenNetwork"),
                keccak256("1"),
                block.chainid,
                address(target)
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", domain, structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function state(uint256 channelId) internal view returns (TokenNetwork.ChannelState current) {
        (,, current,,,) = network.getChannel(channelId);
    }
}
