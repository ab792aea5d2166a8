// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TokenNetworkTestBase} from "./TokenNetworkTestBase.sol";
import {TokenNetwork} from "../src/TokenNetwork.sol";

contract CooperativeSettleTest is TokenNetworkTestBase {
    function test_cooperative_settle_pays_the_signed_balances() public {
        uint256 id = openFunded(100, 50);
        bytes memory aliceSig = signCooperativeSettle(ALICE_KEY, network, id, 70, 80);
        bytes memory bobSig = signCooperativeSettle(BOB_KEY, network, id, 70, 80);
        vm.prank(mallory); // anyone may submit both signatures
        network.cooperativeSettle(id, 70, 80, aliceSig, bobSig);
        assertEq(token.balanceOf(alice), 1_000_000 - 100 + 70, "alice payout");
        assertEq(token.balanceOf(bob), 1_000_000 - 50 + 80, "bob payout");
        assertEq(token.balanceOf(address(network)), 0, "network keeps nothing");
        assertEq(uint256(state(id)), uint256(TokenNetwork.ChannelState.Settled), "state");
        assertEq(network.openChannelOfPair(network.pairKey(alice, bob)), 0, "pair free again");
    }

    function test_cooperative_settle_rejects_balances_not_matching_deposits() public {
        uint256 id = openFunded(100, 50);
        bytes memory aliceSig = signCooperativeSettle(ALICE_KEY, network, id, 100, 51);
        bytes memory bobSig = signCooperativeSettle(BOB_KEY, network, id, 100, 51);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.BalancesDoNotMatchDeposits.selector, 151, 150)
        );
        network.cooperativeSettle(id, 100, 51, aliceSig, bobSig);
    }

    function test_cooperative_settle_rejects_a_signature_from_a_non_participant() public {
        uint256 id = openFunded(100, 50);
        bytes memory aliceSig = signCooperativeSettle(ALICE_KEY, network, id, 0, 150);
        bytes memory mallorySig = signCooperativeSettle(MALLORY_KEY, network, id, 0, 150);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.InvalidSignature.selector, bob, mallory)
        );
        network.cooperativeSettle(id, 0, 150, aliceSig, mallorySig);
    }

    function test_cooperative_settle_rejects_signatures_for_other_balances() public {
        uint256 id = openFunded(100, 50);
        bytes memory aliceSig = signCooperativeSettle(ALICE_KEY, network, id, 70, 80);
        bytes memory bobSig = signCooperativeSettle(BOB_KEY, network, id, 70, 80);
        vm.expectPartialRevert(TokenNetwork.InvalidSignature.selector); // the recovered address is whatever the altered digest yields
        network.cooperativeSettle(id, 80, 70, aliceSig, bobSig);
        assertEq(uint256(state(id)), uint256(TokenNetwork.ChannelState.Opened), "still open");
    }

    function test_cooperative_settle_rejects_signatures_bound_to_another_contract() public {
        uint256 id = openFunded(100, 50);
        TokenNetwork other = new TokenNetwork(address(token), 60, 30 days);
        bytes memory aliceSig = signCooperativeSettle(ALICE_KEY, other, id, 70, 80);
        bytes memory bobSig = signCooperativeSettle(BOB_KEY, other, id, 70, 80);
        vm.expectPartialRevert(TokenNetwork.InvalidSignature.selector);
        network.cooperativeSettle(id, 70, 80, aliceSig, bobSig);
        assertEq(uint256(state(id)), uint256(TokenNetwork.ChannelState.Opened), "still open");
    }

    function test_cooperative_settle_rejects_signatures_bound_to_another_chain() public {
        uint256 id = openFunded(100, 50);
        bytes memory aliceSig = signCooperativeSettle(ALICE_KEY, network, id, 70, 80);
        bytes memory bobSig = signCooperativeSettle(BOB_KEY, network, id, 70, 80);
        vm.chainId(block.chainid + 1);
        vm.expectPartialRevert(TokenNetwork.InvalidSignature.selector);
        network.cooperativeSettle(id, 70, 80, aliceSig, bobSig);
    }

    function test_cooperative_settle_rejects_a_replay_on_a_settled_channel() public {
        uint256 id = openFunded(100, 50);
        bytes memory aliceSig = signCooperativeSettle(ALICE_KEY, network, id, 70, 80);
        bytes memory bobSig = signCooperativeSettle(BOB_KEY, network, id, 70, 80);
        network.cooperativeSettle(id, 70, 80, aliceSig, bobSig);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChannelNotOpen.selector, id, TokenNetwork.ChannelState.Settled
            )
        );
        network.cooperativeSettle(id, 70, 80, aliceSig, bobSig);
    }

    function test_cooperative_settle_rejects_a_closed_channel() public {
        uint256 id = openFunded(100, 50);
        vm.prank(alice);
        network.closeChannel(id, 0, 0, 0, bytes32(0), "");
        bytes memory aliceSig = signCooperativeSettle(ALICE_KEY, network, id, 70, 80);
        bytes memory bobSig = signCooperativeSettle(BOB_KEY, network, id, 70, 80);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChannelNotOpen.selector, id, TokenNetwork.ChannelState.Closed
            )
        );
        network.cooperativeSettle(id, 70, 80, aliceSig, bobSig);
    }
}
