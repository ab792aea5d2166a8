// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TokenNetworkTestBase} from "./TokenNetworkTestBase.sol";
import {TokenNetwork} from "../src/TokenNetwork.sol";

contract OpenAndDepositTest is TokenNetworkTestBase {
    function test_open_returns_increasing_ids_and_records_participants() public {
        uint256 first = network.openChannel(alice, bob, SETTLE_TIMEOUT);
        uint256 second = network.openChannel(alice, mallory, SETTLE_TIMEOUT);
        assertEq(first, 1, "first channel id");
        assertEq(second, 2, "second channel id");
        (address one, address two, TokenNetwork.ChannelState current,, uint64 timeout,) =
            network.getChannel(first);
        assertEq(one, alice, "participant1");
        assertEq(two, bob, "participant2");
        assertEq(uint256(current), uint256(TokenNetwork.ChannelState.Opened), "state");
        assertEq(timeout, SETTLE_TIMEOUT, "settle timeout");
    }

    function test_open_rejects_same_or_zero_participant() public {
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.InvalidParticipants.selector, alice, alice)
        );
        network.openChannel(alice, alice, SETTLE_TIMEOUT);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.InvalidParticipants.selector, alice, address(0))
        );
        network.openChannel(alice, address(0), SETTLE_TIMEOUT);
    }

    function test_open_rejects_settle_timeout_out_of_range() public {
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.SettleTimeoutOutOfRange.selector, 59, 60, 30 days)
        );
        network.openChannel(alice, bob, 59);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.SettleTimeoutOutOfRange.selector, 30 days + 1, 60, 30 days
            )
        );
        network.openChannel(alice, bob, 30 days + 1);
    }

    function test_open_rejects_second_open_channel_for_the_same_pair() public {
        uint256 id = network.openChannel(alice, bob, SETTLE_TIMEOUT);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.ChannelAlreadyOpen.selector, id));
        network.openChannel(bob, alice, SETTLE_TIMEOUT);
    }

    function test_deposit_and_top_up_pull_only_the_difference() public {
        uint256 id = network.openChannel(alice, bob, SETTLE_TIMEOUT);
        vm.prank(alice);
        network.setTotalDeposit(id, alice, 100);
        vm.prank(alice);
        network.setTotalDeposit(id, alice, 150);
        assertEq(network.getParticipant(id, alice).deposit, 150, "alice total deposit");
        assertEq(token.balanceOf(address(network)), 150, "network holds the deposits");
        assertEq(token.balanceOf(alice), 1_000_000 - 150, "alice paid the total once");
    }

    function test_deposit_rejects_a_total_that_does_not_increase() public {
        uint256 id = openFunded(100, 0);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(TokenNetwork.DepositNotIncreasing.selector, 100, 100)
        );
        network.setTotalDeposit(id, alice, 100);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.DepositNotIncreasing.selector, 100, 90));
        network.setTotalDeposit(id, alice, 90);
    }

    function test_deposit_rejects_a_non_participant() public {
        uint256 id = openFunded(0, 0);
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(TokenNetwork.NotParticipant.selector, id, mallory));
        network.setTotalDeposit(id, mallory, 10);
    }

    function test_deposit_rejects_when_tokens_cannot_be_pulled() public {
        uint256 id = openFunded(0, 0);
        vm.prank(alice);
        token.approve(address(network), 5);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.TokenTransferFailed.selector, alice, address(network), 10
            )
        );
        network.setTotalDeposit(id, alice, 10);
    }

    function test_deposit_rejects_unknown_and_closed_channels() public {
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChannelNotOpen.selector, 99, TokenNetwork.ChannelState.NonExistent
            )
        );
        network.setTotalDeposit(99, alice, 10);
        uint256 id = openFunded(10, 0);
        vm.prank(alice);
        network.closeChannel(id, 0, 0, 0, bytes32(0), "");
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                TokenNetwork.ChannelNotOpen.selector, id, TokenNetwork.ChannelState.Closed
            )
        );
        network.setTotalDeposit(id, alice, 20);
    }
}
