${{ user.ref }} ${{ user.entity.metadata.title }}
