// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Signatures} from "./Signatures.sol";

interface IERC20Minimal {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title Payment channels for one ERC-20 token, in the style of Raiden's TokenNetwork.
/// @notice Each participant signs balance proofs (EIP-712) for what it has sent its partner:
/// a nonce, the cumulative transferred amount, the amount locked in pending transfers and the
/// root of those locks. A channel ends either cooperatively (both sign the final balances) or
/// unilaterally: one side closes with its partner's latest proof, the other side may submit the
/// closer's latest proof during the challenge period, and anyone settles after it.
/// This contract has no on-chain unlock: locked amounts stay with their sender at settlement.
contract TokenNetwork {
    enum ChannelState {
        NonExistent,
        Opened,
        Closed,
        Settled
    }

    struct Participant {
        uint256 deposit;
        uint256 nonce;
        uint256 transferredAmount;
        uint256 lockedAmount;
        bytes32 locksRoot;
    }

    struct Channel {
        address participant1;
        address participant2;
        ChannelState state;
        address closer;
        uint64 settleTimeout;
        uint64 settleAfter;
        mapping(address => Participant) participants;
    }

    bytes32 public constant BALANCE_PROOF_TYPEHASH = keccak256(
        "BalanceProof(uint256 channelId,uint256 nonce,uint256 transferredAmount,"
        "uint256 lockedAmount,bytes32 locksRoot)"
    );
    bytes32 public constant COOPERATIVE_SETTLE_TYPEHASH = keccak256(
        "CooperativeSettle(uint256 channelId,address participant1,uint256 participant1Balance,"
        "address participant2,uint256 participant2Balance)"
    );
    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 private constant DOMAIN_NAME = keccak256("SettlementLedgerTokenNetwork");
    bytes32 private constant DOMAIN_VERSION = keccak256("1");

    IERC20Minimal public immutable token;
    uint64 public immutable settleTimeoutMin;
    uint64 public immutable settleTimeoutMax;
    uint256 public channelCounter;
    mapping(uint256 => Channel) private channels;
    mapping(bytes32 => uint256) public openChannelOfPair;

    event ChannelOpened(
        uint256 indexed channelId,
        address indexed participant1,
        address indexed participant2,
        uint64 settleTimeout
    );
    event ChannelNewDeposit(
        uint256 indexed channelId, address indexed participant, uint256 totalDeposit
    );
    event ChannelClosed(
        uint256 indexed channelId,
        address indexed closingParticipant,
        uint256 nonce,
        uint256 transferredAmount
    );
    event NonClosingBalanceProofUpdated(
        uint256 indexed channelId,
        address indexed closingParticipant,
        uint256 nonce,
        uint256 transferredAmount
    );
    event ChannelSettled(
        uint256 indexed channelId,
        address participant1,
        uint256 participant1Amount,
        address participant2,
        uint256 participant2Amount,
        bool cooperative
    );

    error InvalidConfiguration(address token, uint256 settleTimeoutMin, uint256 settleTimeoutMax);
    error InvalidParticipants(address participant, address partner);
    error SettleTimeoutOutOfRange(uint256 settleTimeout, uint256 minimum, uint256 maximum);
    error ChannelAlreadyOpen(uint256 channelId);
    error ChannelNotOpen(uint256 channelId, ChannelState state);
    error ChannelNotClosed(uint256 channelId, ChannelState state);
    error NotParticipant(uint256 channelId, address account);
    error NotNonClosingParticipant(uint256 channelId, address account);
    error DepositNotIncreasing(uint256 currentTotal, uint256 requestedTotal);
    error TokenTransferFailed(address from, address to, uint256 amount);
    error InvalidSignature(address expectedSigner, address recoveredSigner);
    error NonceNotIncreasing(uint256 storedNonce, uint256 submittedNonce);
    error EmptyBalanceProofNotZero(uint256 transferredAmount, uint256 lockedAmount);
    error TransferExceedsDeposits(uint256 transferredAndLocked, uint256 totalDeposit);
    error BalancesDoNotMatchDeposits(uint256 balances, uint256 totalDeposit);
    error ChallengePeriodNotOver(uint256 settleAfter, uint256 timestamp);
    error ChallengePeriodOver(uint256 settleAfter, uint256 timestamp);

    constructor(address token_, uint64 settleTimeoutMin_, uint64 settleTimeoutMax_) {
        if (token_ == address(0) || settleTimeoutMin_ == 0 || settleTimeoutMin_ > settleTimeoutMax_)
        {
            revert InvalidConfiguration(token_, settleTimeoutMin_, settleTimeoutMax_);
        }
        token = IERC20Minimal(token_);
        settleTimeoutMin = settleTimeoutMin_;
        settleTimeoutMax = settleTimeoutMax_;
    }

    // ---- opening and deposits -------------------------------------------------------------

    function openChannel(address participant, address partner, uint64 settleTimeout)
        external
        returns (uint256 channelId)
    {
        if (participant == address(0) || partner == address(0) || participant == partner) {
            revert InvalidParticipants(participant, partner);
        }
        if (settleTimeout < settleTimeoutMin || settleTimeout > settleTimeoutMax) {
            revert SettleTimeoutOutOfRange(settleTimeout, settleTimeoutMin, settleTimeoutMax);
        }
        bytes32 pair = pairKey(participant, partner);
        if (openChannelOfPair[pair] != 0) revert ChannelAlreadyOpen(openChannelOfPair[pair]);

        channelId = ++channelCounter;
        openChannelOfPair[pair] = channelId;
        Channel storage channel = channels[channelId];
        channel.participant1 = participant;
        channel.participant2 = partner;
        channel.settleTimeout = settleTimeout;
        channel.state = ChannelState.Opened;
        emit ChannelOpened(channelId, participant, partner, settleTimeout);
    }

    /// Raises the participant's total deposit to `totalDeposit`, pulling the difference from the
    /// caller; totals make a retried call harmless (it reverts instead of paying twice).
    function setTotalDeposit(uint256 channelId, address participant, uint256 totalDeposit)
        external
    {
        Channel storage channel = openChannel_(channelId);
        requireParticipant(channel, channelId, participant);
        Participant storage record = channel.participants[participant];
        if (totalDeposit <= record.deposit) {
            revert DepositNotIncreasing(record.deposit, totalDeposit);
        }
        uint256 added = totalDeposit - record.deposit;
        record.deposit = totalDeposit;
        emit ChannelNewDeposit(channelId, participant, totalDeposit);
        pullTokens(msg.sender, added);
    }

    // ---- cooperative settlement ---------------------------------------------------------------

    function cooperativeSettle(
        uint256 channelId,
        uint256 participant1Balance,
        uint256 participant2Balance,
        bytes calldata participant1Signature,
        bytes calldata participant2Signature
    ) external {
        Channel storage channel = openChannel_(channelId);
        address participant1 = channel.participant1;
        address participant2 = channel.participant2;
        uint256 total = channelDeposit(channel);
        if (participant1Balance + participant2Balance != total) {
            revert BalancesDoNotMatchDeposits(participant1Balance + participant2Balance, total);
        }
        bytes32 digest = hashTypedData(
            keccak256(
                abi.encode(
                    COOPERATIVE_SETTLE_TYPEHASH,
                    channelId,
                    participant1,
                    participant1Balance,
                    participant2,
                    participant2Balance
                )
            )
        );
        requireSigner(digest, participant1Signature, participant1);
        requireSigner(digest, participant2Signature, participant2);
        finish(channelId, channel, participant1Balance, participant2Balance, true);
    }

    // ---- unilateral close, challenge, settle ---------------------------------------------------

    /// The caller closes with its partner's latest balance proof (nonce 0 and zero amounts with
    /// an empty signature when the partner never sent one).
    function closeChannel(
        uint256 channelId,
        uint256 nonce,
        uint256 transferredAmount,
        uint256 lockedAmount,
        bytes32 locksRoot,
        bytes calldata signature
    ) external {
        Channel storage channel = openChannel_(channelId);
        requireParticipant(channel, channelId, msg.sender);
        address partner = partnerOf(channel, msg.sender);
        channel.state = ChannelState.Closed;
        channel.closer = msg.sender;
        channel.settleAfter = uint64(block.timestamp) + channel.settleTimeout;
        if (nonce == 0) {
            if (transferredAmount != 0 || lockedAmount != 0) {
                revert EmptyBalanceProofNotZero(transferredAmount, lockedAmount);
            }
        } else {
            recordBalanceProof(
                channelId,
                channel,
                partner,
                nonce,
                transferredAmount,
                lockedAmount,
                locksRoot,
                signature
            );
        }
        emit ChannelClosed(channelId, msg.sender, nonce, transferredAmount);
    }

    /// The non-closing side submits the closer's balance proof; a higher nonce replaces a lower.
    function updateNonClosingBalanceProof(
        uint256 channelId,
        uint256 nonce,
        uint256 transferredAmount,
        uint256 lockedAmount,
        bytes32 locksRoot,
        bytes calldata signature
    ) external {
        Channel storage channel = channels[channelId];
        if (channel.state != ChannelState.Closed) {
            revert ChannelNotClosed(channelId, channel.state);
        }
        if (block.timestamp > channel.settleAfter) {
            revert ChallengePeriodOver(channel.settleAfter, block.timestamp);
        }
        address closer = channel.closer;
        if (msg.sender == closer || partnerOf(channel, closer) != msg.sender) {
            revert NotNonClosingParticipant(channelId, msg.sender);
        }
        recordBalanceProof(
            channelId, channel, closer, nonce, transferredAmount, lockedAmount, locksRoot, signature
        );
        emit NonClosingBalanceProofUpdated(channelId, closer, nonce, transferredAmount);
    }

    function settleChannel(uint256 channelId) external {
        Channel storage channel = channels[channelId];
        if (channel.state != ChannelState.Closed) {
            revert ChannelNotClosed(channelId, channel.state);
        }
        if (block.timestamp <= channel.settleAfter) {
            revert ChallengePeriodNotOver(channel.settleAfter, block.timestamp);
        }
        Participant storage one = channel.participants[channel.participant1];
        Participant storage two = channel.participants[channel.participant2];
        uint256 total = one.deposit + two.deposit;
        // Proofs were each capped at the total deposit; saturate so the payout is exactly `total`.
        uint256 credit1 = one.deposit + two.transferredAmount;
        uint256 amount1 = credit1 > one.transferredAmount ? credit1 - one.transferredAmount : 0;
        if (amount1 > total) amount1 = total;
        finish(channelId, channel, amount1, total - amount1, false);
    }

    // ---- views ---------------------------------------------------------------------------------

    function getChannel(uint256 channelId)
        external
        view
        returns (
            address participant1,
            address participant2,
            ChannelState state,
            address closer,
            uint64 settleTimeout,
            uint64 settleAfter
        )
    {
        Channel storage channel = channels[channelId];
        return (
            channel.participant1,
            channel.participant2,
            channel.state,
            channel.closer,
            channel.settleTimeout,
            channel.settleAfter
        );
    }

    function getParticipant(uint256 channelId, address participant)
        external
        view
        returns (Participant memory)
    {
        return channels[channelId].participants[participant];
    }

    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, DOMAIN_NAME, DOMAIN_VERSION, block.chainid, address(this))
        );
    }

    function pairKey(address a, address b) public pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    // ---- internals -----------------------------------------------------------------------------

    function recordBalanceProof(
        uint256 channelId,
        Channel storage channel,
        address signer,
        uint256 nonce,
        uint256 transferredAmount,
        uint256 lockedAmount,
        bytes32 locksRoot,
        bytes calldata signature
    ) private {
        Participant storage record = channel.participants[signer];
        if (nonce <= record.nonce) revert NonceNotIncreasing(record.nonce, nonce);
        uint256 total = channelDeposit(channel);
        if (transferredAmount + lockedAmount > total) {
            revert TransferExceedsDeposits(transferredAmount + lockedAmount, total);
        }
        bytes32 digest = hashTypedData(
            keccak256(
                abi.encode(
                    BALANCE_PROOF_TYPEHASH,
                    channelId,
                    nonce,
                    transferredAmount,
                    lockedAmount,
                    locksRoot
                )
            )
        );
        requireSigner(digest, signature, signer);
        record.nonce = nonce;
        record.transferredAmount = transferredAmount;
        record.lockedAmount = lockedAmount;
        record.locksRoot = locksRoot;
    }

    function finish(
        uint256 channelId,
        Channel storage channel,
        uint256 amount1,
        uint256 amount2,
        bool cooperative
    ) private {
        address participant1 = channel.participant1;
        address participant2 = channel.participant2;
        channel.state = ChannelState.Settled;
        delete openChannelOfPair[pairKey(participant1, participant2)];
        emit ChannelSettled(channelId, participant1, amount1, participant2, amount2, cooperative);
        if (amount1 > 0) pushTokens(participant1, amount1);
        if (amount2 > 0) pushTokens(participant2, amount2);
    }

    function openChannel_(uint256 channelId) private view returns (Channel storage channel) {
        channel = channels[channelId];
        if (channel.state != ChannelState.Opened) revert ChannelNotOpen(channelId, channel.state);
    }

    function requireParticipant(Channel storage channel, uint256 channelId, address account)
        private
        view
    {
        if (account != channel.participant1 && account != channel.participant2) {
            revert NotParticipant(channelId, account);
        }
    }

    function partnerOf(Channel storage channel, address participant)
        private
        view
        returns (address)
    {
        return participant == channel.participant1 ? channel.participant2 : channel.participant1;
    }

    function channelDeposit(Channel storage channel) private view returns (uint256) {
        return channel.participants[channel.participant1].deposit
            + channel.participants[channel.participant2].deposit;
    }

    function hashTypedData(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    function requireSigner(bytes32 digest, bytes calldata signature, address expected)
        private
        pure
    {
        address recovered = Signatures.recover(digest, signature);
        if (recovered != expected) revert InvalidSignature(expected, recovered);
    }

    function pullTokens(address from, uint256 amount) private {
        (bool ok, bytes memory data) = address(token)
            .call(abi.encodeCall(IERC20Minimal.transferFrom, (from, address(this), amount)));
        if (!ok || (data.length > 0 && !abi.decode(data, (bool)))) {
            revert TokenTransferFailed(from, address(this), amount);
        }
    }

    function pushTokens(address to, uint256 amount) private {
        (bool ok, bytes memory data) =
            address(token).call(abi.encodeCall(IERC20Minimal.transfer, (to, amount)));
        if (!ok || (data.length > 0 && !abi.decode(data, (bool)))) {
            revert TokenTransferFailed(address(this), to, amount);
        }
    }
}
