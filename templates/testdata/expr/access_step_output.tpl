${{ steps.publish.output.remoteUrl }}
