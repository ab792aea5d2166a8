// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TokenNetworkTestBase} from "./TokenNetworkTestBase.sol";
import {TokenNetwork} from "../src/TokenNetwork.sol";

/// Unilateral close, the non-closing side's update during the challenge period, and settle.
contract DisputeTest is TokenNetworkTestBase {
    bytes32 internal constant LOCKS_ROOT = keccak256("locks");

    function closeByAlice(uint256 id, uint256 nonce, uint256 bobTransferred) internal {
        bytes memory bobSig = proof(BOB_KEY, id, nonce, bobTransferred);
        vm.prank(alice);
        network.closeChannel(id, nonce, bobTransferred, 0, bytes32(0), bobSig);
    }

    function test_close_records_the_partner_proof_and_starts_the_challenge_period() public {
        uint256 id = openFunded(100, 100);
        bytes memory bobSig = signBalanceProof(BOB_KEY, network, id, 3, 30, 5, LOCKS_ROOT);
        vm.prank(alice);
        network.closeChannel(id, 3, 30, 5, LOCKS_ROOT, bobSig);
        (,, TokenNetwork.ChannelState current, address closer,, uint64 settleAfter) =
            network.getChannel(id);
        assertEq(uint256(current), uint256(TokenNetwork.ChannelState.Closed), "state");
        assertEq(closer, alice, "closer");
        assertEq(settleAfter, block.timestamp + SETTLE_TIMEOUT, "settle after");
        TokenNetwork.Participant memory recorded = network.getParticipant(id, bob);
        assertEq(recorded.nonce, 3, "nonce");
        assertEq(recorded.transferredAmount, 30, "transferred");
        assertEq(recorded.lockedAmount, 5, "locked");
        assertEq(uint256(recorded.locksRoot), uint256(LOCKS_ROOT), "locks root");
    }

    function test_close_rejects_a_proof_signed_by_the_closer_itself() public {
        uint256 id = openFunded(100, 100);
        bytes memory aliceSig = proof(ALICE_KEY, id, 1, 10);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.InvalidSignature.selector, bob, alice));
        network.closeChannel(id, 1, 10, 0, bytes32(0), aliceSig);
    }

    function test_close_rejects_a_proof_signed_by_a_third_party() public {
        uint256 id = openFunded(100, 100);
        bytes memory mallorySig = proof(MALLORY_KEY, id, 1, 10);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.InvalidSignature.selector, bob, mallory)
        );
        network.closeChannel(id, 1, 10, 0, bytes32(0), mallorySig);
    }

    function test_close_rejects_a_proof_from_another_channel() public {
        uint256 first = openFunded(100, 100);
        bytes memory bobSig = proof(BOB_KEY, first, 1, 10);
        vm.prank(alice);
        network.closeChannel(first, 0, 0, 0, bytes32(0), "");
        vm.warp(block.timestamp + SETTLE_TIMEOUT + 1);
        network.settleChannel(first);
        uint256 second = openFunded(100, 100);
        vm.prank(alice);
        vm.expectPartialRevert(TokenNetwork.InvalidSignature.selector); // signed for channel `first`: recovers to some other address
        network.closeChannel(second, 1, 10, 0, bytes32(0), bobSig);
    }

    function test_close_rejects_the_malleable_twin_of_a_valid_signature() public {
        uint256 id = openFunded(100, 100);
        bytes memory valid = proof(BOB_KEY, id, 1, 10);
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(valid, 32))
            s := mload(add(valid, 64))
            v := byte(0, mload(add(valid, 96)))
        }
        uint256 order = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141;
        bytes memory twin = abi.encodePacked(r, bytes32(order - uint256(s)), v == 27 ? 28 : 27);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.InvalidSignature.selector, bob, address(0))
        );
        network.closeChannel(id, 1, 10, 0, bytes32(0), twin);
    }

    function test_close_rejects_a_caller_who_is_not_a_participant() public {
        uint256 id = openFunded(100, 100);
        bytes memory bobSig = proof(BOB_KEY, id, 1, 10);
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NotParticipant.selector, id, mallory));
        network.closeChannel(id, 1, 10, 0, bytes32(0), bobSig);
    }

    function test_close_rejects_transfers_above_the_deposits() public {
        uint256 id = openFunded(100, 50);
        bytes memory bobSig = signBalanceProof(BOB_KEY, network, id, 1, 140, 11, bytes32(0));
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.TransferExceedsDeposits.selector, 151, 150)
        );
        network.closeChannel(id, 1, 140, 11, bytes32(0), bobSig);
    }

    function test_close_rejects_an_empty_proof_with_amounts() public {
        uint256 id = openFunded(100, 50);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.EmptyBalanceProofNotZero.selector, 10, 0)
        );
        network.closeChannel(id, 0, 10, 0, bytes32(0), "");
    }

    function test_close_rejects_a_channel_already_closed() public {
        uint256 id = openFunded(100, 100);
        closeByAlice(id, 1, 10);
        bytes memory aliceSig = proof(ALICE_KEY, id, 1, 10);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChannelNotOpen.selector, id, TokenNetwork.ChannelState.Closed
            )
        );
        network.closeChannel(id, 1, 10, 0, bytes32(0), aliceSig);
    }

    function test_update_with_a_higher_nonce_wins() public {
        uint256 id = openFunded(100, 100);
        closeByAlice(id, 1, 10);
        vm.prank(bob);
        network.updateNonClosingBalanceProof(id, 2, 20, 0, bytes32(0), proof(ALICE_KEY, id, 2, 20));
        vm.prank(bob);
        network.updateNonClosingBalanceProof(id, 5, 45, 0, bytes32(0), proof(ALICE_KEY, id, 5, 45));
        TokenNetwork.Participant memory recorded = network.getParticipant(id, alice);
        assertEq(recorded.nonce, 5, "latest nonce");
        assertEq(recorded.transferredAmount, 45, "latest transferred amount");
    }

    function test_update_rejects_a_replayed_or_lower_nonce() public {
        uint256 id = openFunded(100, 100);
        closeByAlice(id, 1, 10);
        bytes memory five = proof(ALICE_KEY, id, 5, 45);
        vm.prank(bob);
        network.updateNonClosingBalanceProof(id, 5, 45, 0, bytes32(0), five);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NonceNotIncreasing.selector, 5, 5));
        network.updateNonClosingBalanceProof(id, 5, 45, 0, bytes32(0), five);
        bytes memory four = proof(ALICE_KEY, id, 4, 40);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NonceNotIncreasing.selector, 5, 4));
        network.updateNonClosingBalanceProof(id, 4, 40, 0, bytes32(0), four);
    }

    function test_update_rejects_the_closer_and_outsiders() public {
        uint256 id = openFunded(100, 100);
        closeByAlice(id, 1, 10);
        bytes memory aliceSig = proof(ALICE_KEY, id, 2, 20);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.NotNonClosingParticipant.selector, id, alice)
        );
        network.updateNonClosingBalanceProof(id, 2, 20, 0, bytes32(0), aliceSig);
        vm.prank(mallory);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.NotNonClosingParticipant.selector, id, mallory)
        );
        network.updateNonClosingBalanceProof(id, 2, 20, 0, bytes32(0), aliceSig);
    }

    function test_update_rejects_a_proof_not_signed_by_the_closer() public {
        uint256 id = openFunded(100, 100);
        closeByAlice(id, 1, 10);
        bytes memory bobSig = proof(BOB_KEY, id, 2, 20);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.InvalidSignature.selector, alice, bob));
        network.updateNonClosingBalanceProof(id, 2, 20, 0, bytes32(0), bobSig);
    }

    function test_update_rejects_transfers_above_the_deposits() public {
        uint256 id = openFunded(100, 50);
        closeByAlice(id, 1, 10);
        bytes memory aliceSig = proof(ALICE_KEY, id, 2, 151);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.TransferExceedsDeposits.selector, 151, 150)
        );
        network.updateNonClosingBalanceProof(id, 2, 151, 0, bytes32(0), aliceSig);
    }

    function test_update_rejects_after_the_challenge_period() public {
        uint256 id = openFunded(100, 100);
        closeByAlice(id, 1, 10);
        (,,,,, uint64 settleAfter) = network.getChannel(id);
        vm.warp(uint256(settleAfter) + 1);
        bytes memory aliceSig = proof(ALICE_KEY, id, 2, 20);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChallengePeriodOver.selector, settleAfter, uint256(settleAfter) + 1
            )
        );
        network.updateNonClosingBalanceProof(id, 2, 20, 0, bytes32(0), aliceSig);
    }

    function test_update_rejects_an_open_channel() public {
        uint256 id = openFunded(100, 100);
        bytes memory aliceSig = proof(ALICE_KEY, id, 2, 20);
        vm.prank(bob);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChannelNotClosed.selector, id, TokenNetwork.ChannelState.Opened
            )
        );
        network.updateNonClosingBalanceProof(id, 2, 20, 0, bytes32(0), aliceSig);
    }

    function test_settle_pays_both_sides_from_their_proofs() public {
        uint256 id = openFunded(100, 50);
        closeByAlice(id, 4, 30); // bob sent alice 30
        vm.prank(bob);
        network.updateNonClosingBalanceProof(id, 7, 70, 0, bytes32(0), proof(ALICE_KEY, id, 7, 70));
        vm.warp(block.timestamp + SETTLE_TIMEOUT + 1);
        vm.prank(mallory); // anyone may settle
        network.settleChannel(id);
        // alice: 100 - 70 + 30 = 60; bob: 50 - 30 + 70 = 90
        assertEq(token.balanceOf(alice), 1_000_000 - 100 + 60, "alice payout");
        assertEq(token.balanceOf(bob), 1_000_000 - 50 + 90, "bob payout");
        assertEq(token.balanceOf(address(network)), 0, "network keeps nothing");
        assertEq(uint256(state(id)), uint256(TokenNetwork.ChannelState.Settled), "state");
    }

    function test_settle_caps_a_side_that_sent_more_than_it_had() public {
        uint256 id = openFunded(10, 100);
        vm.prank(bob);
        network.closeChannel(id, 1, 50, 0, bytes32(0), proof(ALICE_KEY, id, 1, 50));
        vm.warp(block.timestamp + SETTLE_TIMEOUT + 1);
        network.settleChannel(id);
        assertEq(token.balanceOf(alice), 1_000_000 - 10, "alice gets nothing back");
        assertEq(token.balanceOf(bob), 1_000_000 + 10, "bob gets the whole channel");
    }

    function test_settle_rejects_before_the_challenge_period_ends() public {
        uint256 id = openFunded(100, 100);
        closeByAlice(id, 1, 10);
        (,,,,, uint64 settleAfter) = network.getChannel(id);
        vm.warp(settleAfter);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChallengePeriodNotOver.selector, settleAfter, settleAfter
            )
        );
        network.settleChannel(id);
    }

    function test_settle_rejects_open_and_settled_channels() public {
        uint256 id = openFunded(100, 100);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChannelNotClosed.selector, id, TokenNetwork.ChannelState.Opened
            )
        );
        network.settleChannel(id);
        closeByAlice(id, 1, 10);
        vm.warp(block.timestamp + SETTLE_TIMEOUT + 1);
        network.settleChannel(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChannelNotClosed.selector, id, TokenNetwork.ChannelState.Settled
            )
        );
        network.settleChannel(id);
    }

    function test_a_settled_pair_may_open_a_new_channel() public {
        uint256 id = openFunded(100, 100);
        closeByAlice(id, 1, 10);
        vm.warp(block.timestamp + SETTLE_TIMEOUT + 1);
        network.settleChannel(id);
        uint256 next = network.openChannel(alice, bob, SETTLE_TIMEOUT);
        assertEq(next, id + 1, "new channel id");
    }
}
